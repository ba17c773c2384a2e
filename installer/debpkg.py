"""The ``agent-shepherd`` Debian package, laid out from the frozen one-folder build.

    /opt/agent-shepherd/                       the PyInstaller folder (shepherd, shepherd-tray)
    /usr/bin/shepherd, /usr/bin/shepherd-tray  symlinks into it
    /lib/systemd/system/shepherd.service       `shepherd daemon`, Type=notify, /run/shepherd
    /usr/share/applications/agent-shepherd.desktop
    /etc/xdg/autostart/agent-shepherd-tray.desktop   (a conffile)
    /usr/share/icons/hicolor/<size>/apps/agent-shepherd.{png,svg}
    /usr/share/doc/agent-shepherd/             copyright, changelog.gz, README.md
    /usr/share/polkit-1/actions/org.agentshepherd.policy   the API's privilege levels
    DEBIAN/                                    control, md5sums, conffiles, postinst, prerm, postrm

The static files live in ``installer/deb/``; ``control`` is written here (version from
pyproject.toml, architecture from dpkg). ``dpkg-deb --root-owner-group -Zzstd`` builds it
without fakeroot.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

from installer.project import APP_DIR_NAME, ICON_SIZES, ROOT, BuildError, project_version

__all__ = [
    "DEPENDS",
    "MAINTAINER",
    "PACKAGE",
    "architecture",
    "build_deb",
    "control_text",
    "run_lintian",
    "stage",
]

PACKAGE = "agent-shepherd"
MAINTAINER = "agent-shepherd maintainers <maintainers@users.noreply.r-seed-9b2cddd5.example>"
# What the bundled Qt's xcb platform plugin loads from the system (PyInstaller leaves X11,
# xcb and GL libraries to the host); `adduser` for the postinst's addgroup.
DEPENDS = [
    "adduser",
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libdbus-1-3",
    "libxkbcommon0",
    "libxkbcommon-x11-0",
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
    "libxcb-xfixes0",
    "libxcb-sync1",
    "libxcb-shm0",
]
_DESCRIPTION = """\
keeps Teleport agents on their cluster's version, safely
 Shepherd keeps the Teleport agents on a host on the version their cluster
 wants, updates them only when it is safe (cluster and local maintenance
 windows, health checks, host-local canary) and rolls a bad update back by
 itself or with one click. It reads and writes the same on-disk layout as
 teleport-update.
 .
 This package holds a self-contained build: the `shepherd` daemon (a systemd
 service) and CLI, and the `shepherd-tray` desktop app, started in each
 desktop session. Members of the 'shepherd' group may operate the agents."""
_FILES = ROOT / "installer" / "deb"
_POLKIT_ACTIONS = ROOT / "installer" / "polkit" / "org.agentshepherd.policy"
_ASSETS = ROOT / "assets"
_OPT = Path("opt") / APP_DIR_NAME


def architecture() -> str:
    """This machine's Debian architecture (``dpkg --print-architecture``)."""
    try:
        out = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as e:
        raise BuildError(f"cannot ask dpkg for the architecture: {e}") from e
    return out.stdout.strip()


def _libc_version() -> str:
    """The upstream version of this machine's libc6: the frozen Python needs at least it."""
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "libc6"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip().split("-")[0] if out.returncode == 0 else ""


def control_text(version: str, arch: str, installed_kib: int) -> str:
    """The DEBIAN/control file."""
    libc = _libc_version()
    depends = [f"libc6 (>= {libc})"] if libc else []
    depends += DEPENDS
    fields = {
        "Package": PACKAGE,
        "Version": version,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(depends),
        "Section": "admin",
        "Priority": "optional",
        "Description": _DESCRIPTION,
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def _changelog(version: str) -> bytes:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    text = (
        f"{PACKAGE} ({version}) unstable; urgency=medium\n\n"
        f"  * Self-contained build of agent-shepherd {version}.\n\n"
        f" -- {MAINTAINER}  {email.utils.formatdate(epoch)}\n"
    )
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def _copy(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def stage(app: Path, root: Path) -> Path:
    """Lay the package's tree out in ``root`` (emptied first); returns ``root``."""
    if root.exists():
        if not (root / "DEBIAN").is_dir() and any(root.iterdir()):
            raise BuildError(f"refusing to empty {root}: it is not a package staging tree")
        shutil.rmtree(root)
    root.mkdir(parents=True)
    shutil.copytree(app, root / _OPT, symlinks=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("shepherd", "shepherd-tray"):
        (bin_dir / name).symlink_to(Path("/") / _OPT / name)
    _copy(_FILES / "shepherd.service", root / "lib/systemd/system/shepherd.service")
    _copy(_FILES / "agent-shepherd.desktop", root / "usr/share/applications/agent-shepherd.desktop")
    _copy(
        _FILES / "agent-shepherd-tray.desktop",
        root / "etc/xdg/autostart/agent-shepherd-tray.desktop",
    )
    icons = root / "usr/share/icons/hicolor"
    for size in ICON_SIZES:
        _copy(_ASSETS / f"agent-shepherd-{size}.png", icons / f"{size}x{size}/apps/{PACKAGE}.png")
    _copy(_ASSETS / "agent-shepherd.svg", icons / f"scalable/apps/{PACKAGE}.svg")
    doc = root / "usr/share/doc" / PACKAGE
    _copy(_FILES / "copyright", doc / "copyright")
    _copy(ROOT / "README.md", doc / "README.md")
    (doc / "changelog.gz").write_bytes(_changelog(project_version()))
    _copy(_FILES / "lintian-overrides", root / "usr/share/lintian/overrides" / PACKAGE)
    _copy(_POLKIT_ACTIONS, root / "usr/share/polkit-1/actions" / _POLKIT_ACTIONS.name)
    _normalise_modes(root)

    control = root / "DEBIAN"
    control.mkdir(mode=0o755)
    for script in ("postinst", "prerm", "postrm"):
        _copy(_FILES / script, control / script, 0o755)
    (control / "conffiles").write_text("/etc/xdg/autostart/agent-shepherd-tray.desktop\n")
    (control / "md5sums").write_text(_md5sums(root))
    (control / "control").write_text(
        control_text(project_version(), architecture(), _installed_kib(root))
    )
    for name in ("conffiles", "md5sums", "control"):
        (control / name).chmod(0o644)
    return root


def _normalise_modes(root: Path) -> None:
    """0755 for directories and executables, 0644 for the rest, shared libraries included
    (no setuid, no group/other write), whatever the umask and the copied files said."""
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        base.chmod(0o755)
        for name in filenames:
            path = base / name
            if path.is_symlink():
                continue
            executable = path.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            if ".so" in name:  # libfoo.so.1, _rust.abi3.so: loaded, never run
                executable = 0
            path.chmod(0o755 if executable else 0o644)
        del dirnames


def _md5sums(root: Path) -> str:
    lines = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file() or path.parts[len(root.parts)] == "DEBIAN":
            continue
        digest = hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest()
        lines.append(f"{digest}  {path.relative_to(root)}\n")
    return "".join(lines)


def _installed_kib(root: Path) -> int:
    """Roughly what dpkg-gencontrol counts: KiB per file (rounded up) plus one per entry."""
    total = 0
    for path in root.rglob("*"):
        if path.parts[len(root.parts)] == "DEBIAN":
            continue
        total += 1
        if path.is_file() and not path.is_symlink():
            total += (path.stat().st_size + 1023) // 1024
    return total


def build_deb(app: Path, staging: Path, dist: Path) -> Path:
    """Stage the package from the frozen ``app`` and build it into ``dist``; returns the .deb.

    Raises:
        BuildError: dpkg-deb is missing or failed.
    """
    if shutil.which("dpkg-deb") is None:
        raise BuildError("dpkg-deb is missing (apt-get install dpkg)")
    root = stage(app, staging)
    arch = architecture()
    deb = dist / f"{PACKAGE}_{project_version()}_{arch}.deb"
    dist.mkdir(parents=True, exist_ok=True)
    _dpkg_deb(root, deb, "-Zzstd")
    return deb


def _dpkg_deb(root: Path, deb: Path, *compression: str) -> None:
    result = subprocess.run(
        ["dpkg-deb", "--root-owner-group", *compression, "--build", str(root), str(deb)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"dpkg-deb failed: {result.stderr.strip() or result.stdout.strip()}")


def run_lintian(staging: Path) -> int:
    """Run lintian on the staged package and print what it says; its exit code (0: clean).

    Debian 12's lintian cannot read zstd members (it reports ``malformed-deb-archive``), so
    it checks the same tree packed with gzip in a temporary directory.
    """
    if shutil.which("lintian") is None:
        print("lintian is not installed: skipped (apt-get install lintian)")
        return 0
    with tempfile.TemporaryDirectory(prefix="shepherd-lintian-") as tmp:
        deb = Path(tmp) / f"{PACKAGE}.deb"
        _dpkg_deb(staging, deb, "-Zgzip", "-z1")
        result = subprocess.run(
            ["lintian", "--display-info", "--suppress-tags", "no-manual-page", str(deb)],
            check=False,
        )
    return result.returncode
