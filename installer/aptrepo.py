"""Shepherd's own apt repository: a directory any web server can serve, signed with a key
the admin provides.

    python -m installer.build repo --key FINGERPRINT --url https://apt.example/shepherd \\
        [--gnupghome DIR] [--repo dist/repo] [DEB ...]

    <repo>/pool/main/agent-shepherd*_<version>_<arch>.deb   every version added (a rollback
                                                             target stays installable)
    <repo>/dists/stable/main/binary-<arch>/Packages{,.gz}
    <repo>/dists/stable/{Release,InRelease,Release.gpg}       signed (gpg, the admin's key)
    <repo>/agent-shepherd.sources                 the enrolment: copy to /etc/apt/sources.list.d/
    <repo>/agent-shepherd-archive-keyring.{asc,gpg}   the public key, for those who pin it apart

``agent-shepherd.sources`` is deb822 with the public key inline in ``Signed-By`` (apt >= 2.3.10:
Debian 12, Ubuntu 22.04), so one file enrols a host and trusts only this key for this
repository. apt-ftparchive (apt-utils) indexes, gpg signs; the private key never leaves the
admin's gpg home.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from installer.project import BuildError

__all__ = ["COMPONENT", "SOURCES_NAME", "SUITE", "build_repo", "sources_text"]

SUITE = "stable"
COMPONENT = "main"
SOURCES_NAME = "agent-shepherd.sources"
KEYRING_NAME = "agent-shepherd-archive-keyring"


def _run(argv: list[str], what: str, cwd: Path | None = None) -> str:
    if shutil.which(argv[0]) is None:
        package = {"apt-ftparchive": "apt-utils", "gpg": "gpg"}.get(argv[0], argv[0])
        raise BuildError(f"{argv[0]} is missing (apt-get install {package})")
    result = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, check=False)
    if result.returncode != 0:
        raise BuildError(f"{what} failed: {(result.stderr or result.stdout).strip()[-2000:]}")
    return result.stdout


def sources_text(url: str, public_key_asc: str) -> str:
    """The deb822 enrolment for ``url``, trusting only the given armored public key."""
    key_lines = [
        f" {line}" if line.strip() else " ." for line in public_key_asc.strip().splitlines()
    ]
    return (
        "# Shepherd's own packages (agent-shepherd, agent-shepherd-tray)\n"
        "Types: deb\n"
        f"URIs: {url}\n"
        f"Suites: {SUITE}\n"
        f"Components: {COMPONENT}\n"
        "Signed-By:\n" + "\n".join(key_lines) + "\n"
    )


def build_repo(
    debs: Sequence[Path], repo: Path, *, key: str, url: str, gnupghome: Path | None = None
) -> Path:
    """Add ``debs`` to the repository in ``repo`` (made if missing), re-index and re-sign it;
    returns the enrolment file.

    Raises:
        BuildError: no package to publish, a tool is missing, or gpg cannot sign with ``key``.
    """
    if not url.startswith(("https://", "http://")):
        raise BuildError(f"--url {url!r} must be an http(s) URL where the repository is served")
    pool = repo / "pool" / COMPONENT
    pool.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        if not deb.is_file() or deb.suffix != ".deb":
            raise BuildError(f"{deb} is not a .deb file")
        shutil.copyfile(deb, pool / deb.name)
    if not any(pool.glob("*.deb")):
        raise BuildError(f"no .deb in {pool}: build them first (python -m installer.build deb)")
    gpg = ["gpg", "--batch", "--yes", *(["--homedir", str(gnupghome)] if gnupghome else [])]
    public = _run([*gpg, "--armor", "--export", key], "gpg --export")
    if "BEGIN PGP PUBLIC KEY BLOCK" not in public:
        raise BuildError(f"gpg has no key {key!r} to sign with (see gpg --list-secret-keys)")

    architectures = sorted({deb.stem.rsplit("_", 1)[-1] for deb in pool.glob("*.deb")})
    dists = repo / "dists" / SUITE
    for arch in architectures:
        index = dists / COMPONENT / f"binary-{arch}"
        index.mkdir(parents=True, exist_ok=True)
        packages = _run(
            ["apt-ftparchive", "--arch", arch, "packages", f"pool/{COMPONENT}"],
            "apt-ftparchive packages",
            cwd=repo,
        )
        (index / "Packages").write_text(packages)
        _run(["gzip", "-9nkf", str(index / "Packages")], "gzip Packages")
    for stale in ("Release", "InRelease", "Release.gpg"):
        (dists / stale).unlink(missing_ok=True)
    release = _run(
        [
            "apt-ftparchive",
            "-o", f"APT::FTPArchive::Release::Suite={SUITE}",
            "-o", f"APT::FTPArchive::Release::Codename={SUITE}",
            "-o", f"APT::FTPArchive::Release::Components={COMPONENT}",
            "-o", f"APT::FTPArchive::Release::Architectures={' '.join(architectures)}",
            "-o", "APT::FTPArchive::Release::Origin=agent-shepherd",
            "-o", "APT::FTPArchive::Release::Label=agent-shepherd",
            "release", ".",
        ],
        "apt-ftparchive release",
        cwd=dists,
    )  # fmt: skip
    (dists / "Release").write_text(release)
    signer = [*gpg, "--local-user", key, "--digest-algo", "SHA512"]
    _run([*signer, "--clearsign", "-o", str(dists / "InRelease"), str(dists / "Release")], "gpg")
    _run([*signer, "--armor", "--detach-sign", "-o", str(dists / "Release.gpg"),
          str(dists / "Release")], "gpg")  # fmt: skip

    (repo / f"{KEYRING_NAME}.asc").write_text(public)
    _run([*gpg, "--export", "--output", str(repo / f"{KEYRING_NAME}.gpg"), key], "gpg --export")
    enrolment = repo / SOURCES_NAME
    enrolment.write_text(sources_text(url.rstrip("/"), public))
    return enrolment
