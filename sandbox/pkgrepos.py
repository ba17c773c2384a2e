"""Signed package repositories of the fake agent, to be served by the sandbox CDN (nginx).

    key = SigningKey.create(tmp / "key")                      # a fresh gpg key (RSA 3072)
    apt = AptRepo(cdn_root / "apt"); apt.add(deb); apt.publish(key)
    rpm = RpmRepo(cdn_root / "rpm"); rpm.add(rpmfile); rpm.publish(key)

- ``AptRepo`` is a flat repository made with ``apt-ftparchive`` (it keeps every version it
  is given, unlike reprepro): ``Packages``, ``Release``, and ``InRelease`` /
  ``Release.gpg`` signed with ``gpg``. ``publish(None)`` leaves it unsigned.
- ``RpmRepo`` signs each package with ``rpmsign`` and makes the metadata with
  ``createrepo_c``; ``repodata/repomd.xml.asc`` is the detached signature dnf's
  ``repo_gpgcheck`` and zypper check, ``repodata/repomd.xml.key`` the public key.
- ``SigningKey.create(..., expired=True)`` makes a key whose validity ended in the past
  (gpg's faked clock at creation and when signing), for the expired-key refusal.

Everything runs with its own ``GNUPGHOME``; nothing touches the machine's keyrings.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["AptRepo", "RpmRepo", "SigningKey"]

_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
_PAST = "20200101T000000"


def _run(
    argv: list[str], what: str, *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> str:
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**_ENV, **(env or {})},
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed: {(result.stderr or result.stdout)[-2000:]}")
    return result.stdout


@dataclass(frozen=True)
class SigningKey:
    """A gpg key in its own home: ``public_asc`` (armored) and ``public_gpg`` (binary keyring,
    what apt's ``Signed-By`` takes)."""

    home: Path
    fingerprint: str
    expired: bool = False

    @property
    def public_asc(self) -> Path:
        return self.home / "public.asc"

    @property
    def public_gpg(self) -> Path:
        return self.home / "public.gpg"

    @classmethod
    def create(cls, home: Path, *, name: str = "Sandbox Repo", expired: bool = False) -> SigningKey:
        home.mkdir(parents=True, exist_ok=True, mode=0o700)
        home.chmod(0o700)
        clock = ["--faked-system-time", _PAST] if expired else []
        uid = f"{name} <repo@agent-shepherd.invalid>"
        _run(
            [
                "gpg",
                "--homedir",
                str(home),
                "--batch",
                "--passphrase",
                "",
                *clock,
                "--quick-gen-key",
                uid,
                "rsa3072",
                "sign",
                "1d" if expired else "never",
            ],
            "gpg key generation",
        )
        listing = _run(
            ["gpg", "--homedir", str(home), "--batch", "--with-colons", "--list-keys", uid],
            "gpg --list-keys",
        )
        fingerprint = next(
            line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")
        )
        key = cls(home, fingerprint, expired)
        key.public_asc.write_text(key._gpg("--armor", "--export", fingerprint))
        _run(
            [
                "gpg",
                "--homedir",
                str(home),
                "--batch",
                "--yes",
                "--output",
                str(key.public_gpg),
                "--export",
                fingerprint,
            ],
            "gpg --export",
        )
        return key

    def _gpg(self, *args: str) -> str:
        clock = ["--faked-system-time", _PAST] if self.expired else []
        return _run(
            [
                "gpg",
                "--homedir",
                str(self.home),
                "--batch",
                "--yes",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                *clock,
                "--local-user",
                self.fingerprint,
                *args,
            ],
            f"gpg {args[0]}",
        )

    def clearsign(self, source: Path, target: Path) -> None:
        self._gpg("--digest-algo", "SHA256", "--clearsign", "--output", str(target), str(source))

    def detach_sign(self, source: Path, target: Path, *, armor: bool = True) -> None:
        self._gpg(
            *(["--armor"] if armor else []), "--detach-sign", "--output", str(target), str(source)
        )

    def rpmsign(self, package: Path) -> None:
        clock = f" --faked-system-time {_PAST}" if self.expired else ""
        _run(
            [
                "rpmsign",
                "--addsign",
                "--define",
                f"_gpg_name {self.fingerprint}",
                "--define",
                f"_gpg_path {self.home}",
                "--define",
                f"__gpg_sign_cmd /usr/bin/gpg gpg --homedir {self.home} --batch --no-armor{clock} "
                "-u %{_gpg_name} -sbo %{__signature_filename} "
                "--digest-algo sha256 %{__plaintext_filename}",
                str(package),
            ],
            f"rpmsign {package.name}",
        )


class AptRepo:
    """A flat apt repository (``deb [signed-by=K] URL ./``) keeping every version added."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, package: Path) -> None:
        (self.root / "pool").mkdir(parents=True, exist_ok=True)
        shutil.copy2(package, self.root / "pool" / package.name)

    def publish(self, key: SigningKey | None) -> None:
        """Rewrite the index; sign it with ``key``, or leave it unsigned when None."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in ("InRelease", "Release.gpg", "Release"):
            (self.root / stale).unlink(missing_ok=True)
        packages = _run(["apt-ftparchive", "packages", "pool"], "apt-ftparchive", cwd=self.root)
        (self.root / "Packages").write_text(packages)
        release = _run(
            [
                "apt-ftparchive",
                "-o",
                "APT::FTPArchive::Release::Origin=agent-shepherd sandbox",
                "-o",
                "APT::FTPArchive::Release::Label=teleport",
                "-o",
                "APT::FTPArchive::Release::Suite=stable",
                "release",
                ".",
            ],
            "apt-ftparchive release",
            cwd=self.root,
        )
        (self.root / "Release").write_text(release)
        if key is not None:
            key.clearsign(self.root / "Release", self.root / "InRelease")
            key.detach_sign(self.root / "Release", self.root / "Release.gpg")


class RpmRepo:
    """An rpm repository (``baseurl=URL``) for dnf/yum and zypper, keeping every version."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, package: Path, key: SigningKey | None) -> None:
        """Copy ``package`` in and sign it with ``key`` (unsigned when None)."""
        (self.root / "packages").mkdir(parents=True, exist_ok=True)
        target = self.root / "packages" / package.name
        shutil.copy2(package, target)
        if key is not None:
            key.rpmsign(target)

    def publish(self, key: SigningKey | None) -> None:
        """Rewrite ``repodata/``; sign ``repomd.xml`` with ``key`` (unsigned when None)."""
        self.root.mkdir(parents=True, exist_ok=True)
        _run(["createrepo_c", "--update", "--no-database", str(self.root)], "createrepo_c")
        repomd = self.root / "repodata/repomd.xml"
        for stale in ("repomd.xml.asc", "repomd.xml.key"):
            (repomd.parent / stale).unlink(missing_ok=True)
        if key is not None:
            key.detach_sign(repomd, repomd.parent / "repomd.xml.asc")
            shutil.copy2(key.public_asc, repomd.parent / "repomd.xml.key")
