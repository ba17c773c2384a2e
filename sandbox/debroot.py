"""A Debian root with dpkg and apt for package-manager tests: built once, then copied per test.

    base = ensure_apt_root()                       # cached debootstrap minbase root
    with overlay_root(base, tmp / "host") as root: # a writable copy (overlayfs), gone on exit
        subprocess.run(["chroot", str(root), "apt-get", "update", ...])

``debootstrap --variant=minbase`` gives dpkg, apt and gpgv (apt's signature checker), which
is all an apt repository test needs; building it takes a few minutes, so it is cached under
``SHEPHERD_TESTBED_CACHE`` (default ``/var/cache/agent-shepherd-testbed``) keyed by the recipe,
built under a lock so concurrent sessions wait for one build. The booted systemd host
(``sandbox.systemd_host``, from its own cached root) is where the service runs; this root
only holds a dpkg database and apt, so packages are installed for real but not started.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["APT_ROOT_PACKAGES", "CACHE_DIR", "ensure_apt_root", "overlay_root"]

CACHE_DIR = Path(os.environ.get("SHEPHERD_TESTBED_CACHE", "/var/cache/agent-shepherd-testbed"))
SUITE = "bookworm"
APT_ROOT_PACKAGES = ("apt", "gpgv", "ca-certificates")
_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


def _mirror(sources: Path = Path("/etc/apt")) -> str:
    """The first URI of this machine's apt sources that serves ``SUITE``."""
    texts = [
        p.read_text(errors="replace") for p in sorted(sources.glob("sources.list.d/*.sources"))
    ]
    for text in texts:
        for stanza in re.split(r"\n\s*\n", text):
            if re.search(rf"^Suites:.*\b{SUITE}\b", stanza, re.M | re.I):
                match = re.search(r"^URIs:\s*(\S+)", stanza, re.M | re.I)
                if match:
                    return match.group(1)
    for path in [sources / "sources.list", *sorted(sources.glob("sources.list.d/*.list"))]:
        if path.is_file():
            for line in path.read_text(errors="replace").splitlines():
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb" and words[2] == SUITE:
                    return words[1]
    raise RuntimeError(f"no apt source of this machine serves {SUITE} (read {sources})")


def ensure_apt_root(cache: Path = CACHE_DIR) -> Path:
    """The cached minbase root, built first when missing (a few minutes, once per machine)."""
    key = hashlib.sha256(f"1 {SUITE} {sorted(APT_ROOT_PACKAGES)}".encode()).hexdigest()[:12]
    root = cache / f"aptroot-{key}"
    if (root / ".complete").is_file():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".aptroot.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / ".complete").is_file():
            return root
        building = cache / f"aptroot-building-{key}"
        shutil.rmtree(building, ignore_errors=True)
        argv = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(APT_ROOT_PACKAGES)}",
            SUITE,
            str(building),
            _mirror(),
        ]
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=1800, check=False, env=_ENV
        )
        if result.returncode != 0:
            shutil.rmtree(building, ignore_errors=True)
            raise RuntimeError(f"debootstrap failed: {(result.stderr or result.stdout)[-2000:]}")
        (building / "var/cache/apt/archives").mkdir(parents=True, exist_ok=True)
        for leftover in (building / "var/cache/apt/archives").glob("*.deb"):
            leftover.unlink()
        building.rename(root)
        (root / ".complete").touch()
    return root


@contextlib.contextmanager
def overlay_root(base: Path, where: Path) -> Iterator[Path]:
    """A writable copy of ``base`` at ``where/root`` (overlayfs), unmounted on exit."""
    upper, work, merged = where / "upper", where / "work", where / "root"
    for directory in (upper, work, merged):
        directory.mkdir(parents=True, exist_ok=True)
    options = f"lowerdir={base},upperdir={upper},workdir={work}"
    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", options, str(merged)],
        check=True,
        capture_output=True,
        timeout=60,
        env=_ENV,
    )
    try:
        yield merged
    finally:
        subprocess.run(
            ["umount", "--lazy", str(merged)],
            check=False,
            capture_output=True,
            timeout=60,
            env=_ENV,
        )
