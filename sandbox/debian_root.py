"""The Debian root the systemd test host boots: built once per machine, then cached.

    recipe = RootRecipe.default()
    base = ensure_root(recipe)          # /var/cache/agent-shepherd-testbed/root-<key>/

``debootstrap --variant=minbase`` makes a Debian ``suite`` root with ``packages`` (systemd,
python3, and what the Shepherd ``.deb`` depends on, so installing it needs no network);
then ``/opt/shepherd-venv`` is made inside it with the root's own python3, holding
Shepherd's runtime dependencies from wheels downloaded on this machine with pip, so the
engine can run from a source tree bind-mounted into the booted host. Units that would reach
out of the root into the machine (kernel modules, sysctl, fstrim, apt timers) are masked.

The cache key is a hash of the recipe (suite, packages, wheels, format), so a root is
rebuilt when any of them changes. Building takes a few minutes and is done under a lock, so
concurrent test sessions wait for one build instead of making two. The Debian mirror is the
one this machine's apt uses (``/etc/apt/sources.list*``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from installer.debpkg import DEPENDS as DEB_DEPENDS
from sandbox.filelock import exclusive_lock

__all__ = [
    "CACHE_DIR",
    "VENV",
    "RootBuildError",
    "RootRecipe",
    "apt_mirror",
    "ensure_root",
]

CACHE_DIR = Path(os.environ.get("SHEPHERD_TESTBED_CACHE", "/var/cache/agent-shepherd-testbed"))
VENV = "/opt/shepherd-venv"  # inside the root
_FORMAT = 1  # bump when the build steps below change what a root holds
_PROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
_BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "procps",  # pkill, used by teleport.service's ExecReload
    "python3",
    "python3-venv",
    "ca-certificates",
)
# Started at boot but reach the machine itself, not the root: the host shares its kernel
# (modules, sysctl, binfmt), its disks (fstrim) and its network (apt's daily jobs).
_MASKED_UNITS = (
    "systemd-modules-load.service",
    "systemd-sysctl.service",
    "systemd-binfmt.service",
    "proc-sys-fs-binfmt_misc.automount",
    "fstrim.timer",
    "apt-daily.timer",
    "apt-daily-upgrade.timer",
    "e2scrub_all.timer",
    "getty@tty1.service",
    "console-getty.service",
)
_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class RootBuildError(Exception):
    """The Debian root could not be built (names the step and its output)."""


def _runtime_requirements() -> tuple[str, ...]:
    with _PROJECT.open("rb") as stream:
        return tuple(tomllib.load(stream)["project"]["dependencies"])


@dataclass(frozen=True)
class RootRecipe:
    suite: str
    packages: tuple[str, ...]
    wheels: tuple[str, ...]  # pip requirements for the venv inside the root

    @classmethod
    def default(cls) -> RootRecipe:
        packages = tuple(sorted({*_BASE_PACKAGES, *DEB_DEPENDS}))
        return cls("bookworm", packages, _runtime_requirements())

    @property
    def key(self) -> str:
        text = json.dumps(
            [_FORMAT, self.suite, sorted(self.packages), sorted(self.wheels), _MASKED_UNITS]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def apt_mirror(suite: str, sources: Path = Path("/etc/apt")) -> str:
    """The URI of the first apt source of this machine that serves ``suite``'s ``main``.

    Raises:
        RootBuildError: no enabled source serves it.
    """
    entries: list[tuple[str, list[str], list[str]]] = []
    for path in sorted((sources / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith(("#", " ", "\t")):
                    name, value = line.split(":", 1)
                    fields[name.strip().lower()] = value.strip()
            if (
                fields.get("enabled", "yes").lower() == "no"
                or "deb" not in fields.get("types", "").split()
            ):
                continue
            for uri in fields.get("uris", "").split():
                entries.append(
                    (uri, fields.get("suites", "").split(), fields.get("components", "").split())
                )
    lists = [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*.list"))]
    for path in lists:
        if not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 4 and words[0] == "deb":
                entries.append((words[1], [words[2]], words[3:]))
    for uri, suites, components in entries:
        if suite in suites and "main" in components:
            return uri
    raise RootBuildError(f"no apt source of this machine serves {suite} main (read {sources})")


def ensure_root(recipe: RootRecipe, cache: Path = CACHE_DIR) -> Path:
    """The cached root for ``recipe``, built first when missing (prints what it does).

    Raises:
        RootBuildError: debootstrap, the venv or a chroot step failed.
    """
    root = cache / f"root-{recipe.key}"
    if (root / ".complete").is_file():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(cache / ".lock"):
        if (root / ".complete").is_file():  # another session built it while we waited
            return root
        _say(
            f"building the Debian {recipe.suite} root for the systemd test host in {root} "
            "(once per machine; a few minutes)"
        )
        building = cache / f"building-{recipe.key}"
        if building.exists():
            _remove_tree(building)
        try:
            _build(recipe, building)
        except BaseException:
            _remove_tree(building)
            raise
        building.rename(root)
        _say(f"the Debian root is ready: {root}")
    return root


def _say(message: str) -> None:
    print(f"[systemd test host] {message}", file=sys.stderr, flush=True)


def _run(argv: list[str], what: str, timeout: float = 1800) -> str:
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=_ENV
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RootBuildError(f"{what} could not run: {e}") from e
    if result.returncode != 0:
        tail = (result.stderr.strip() or result.stdout.strip())[-3000:]
        raise RootBuildError(f"{what} failed (exit {result.returncode}):\n{tail}")
    return result.stdout


def _build(recipe: RootRecipe, root: Path) -> None:
    if shutil.which("debootstrap", path=_ENV["PATH"]) is None:
        raise RootBuildError("debootstrap is missing (apt-get install debootstrap)")
    mirror = apt_mirror(recipe.suite)
    _say(f"debootstrap {recipe.suite} from {mirror} with {len(recipe.packages)} packages")
    _run(
        [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(recipe.packages)}",
            "--components=main",
            recipe.suite,
            str(root),
            mirror,
        ],
        "debootstrap",
    )
    _say("making the venv inside the root with its own python3")
    wheels = root / "tmp" / "wheels"
    python_version = _in_root(
        root, ["python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], "python3"
    ).strip()
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--only-binary=:all:",
            "--python-version",
            python_version,
            "--dest",
            str(wheels),
            *recipe.wheels,
        ],
        "pip download",
    )
    _in_root(root, ["python3", "-m", "venv", VENV], "python3 -m venv")
    _in_root(
        root,
        [
            f"{VENV}/bin/pip",
            "install",
            "--quiet",
            "--no-index",
            "--find-links",
            "/tmp/wheels",
            *recipe.wheels,
        ],
        "pip install in the root",
    )
    shutil.rmtree(wheels)
    _in_root(root, ["systemctl", "mask", *_MASKED_UNITS], "systemctl mask")
    _in_root(root, ["apt-get", "clean"], "apt-get clean")
    (root / "etc" / "machine-id").write_text("")  # each booted copy gets its own
    (root / "etc" / "hostname").write_text("shepherd-testbed\n")
    (root / ".complete").write_text(json.dumps(recipe.__dict__, indent=2) + "\n")


def _in_root(root: Path, argv: list[str], what: str) -> str:
    """Run ``argv`` chrooted into ``root`` (not booted), with /proc and /dev of a private
    mount namespace, so nothing stays mounted."""
    script = (
        'set -e; mount --make-rprivate /; mount -t proc proc "$1/proc"; '
        'mount --rbind /dev "$1/dev"; shift; exec chroot "$@"'
    )
    unshare = ["unshare", "--mount", "--pid", "--fork", "sh", "-c", script, "sh"]
    return _run(
        [*unshare, str(root), str(root), *argv],
        what,
    )


def _remove_tree(path: Path) -> None:
    """Remove a root (never one that something is mounted under)."""
    mounts = Path("/proc/self/mounts").read_text()
    if f" {path}/" in mounts or f" {path} " in mounts:
        raise RootBuildError(f"refusing to remove {path}: something is mounted under it")
    shutil.rmtree(path, ignore_errors=True)
