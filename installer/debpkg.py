"""The two Debian packages, laid out from the two frozen folders of one build.

``agent-shepherd`` (what a server installs: no Qt, no graphics library)::

    /opt/agent-shepherd/                       the daemon + CLI folder (shepherd, _internal/)
    /usr/bin/agent-shepherd                    symlink into it: the command, always ours
    /usr/bin/shepherd                          update-alternatives, where no other package
                                               (Debian 13's GNU Shepherd) holds the name
    /lib/systemd/system/shepherd.service       `agent-shepherd daemon`, Type=notify
    /usr/share/polkit-1/actions/org.agentshepherd.policy   the API's privilege levels
    /usr/share/doc/agent-shepherd/             copyright, changelog.gz, README.md
    DEBIAN/  control md5sums preinst postinst prerm postrm

``agent-shepherd-tray`` (Depends: agent-shepherd of the same version)::

    /opt/agent-shepherd-tray/                  the tray folder (shepherd-tray, _internal/)
    /usr/bin/shepherd-tray                     symlink into it
    /usr/share/applications/org.agentshepherd.tray.desktop     the menu entry
    /usr/share/metainfo/org.agentshepherd.tray.metainfo.xml    AppStream (software centres)
    /usr/share/icons/hicolor/<size>/apps/agent-shepherd.{png,svg}
    /usr/share/icons/hicolor/symbolic/apps/agent-shepherd-<state>-symbolic.svg   panel icons

No autostart for every account: each user turns the tray's autostart on or off
(``gui.autostart``, ``~/.config/autostart``). The static files live in ``installer/deb/``;
``control`` is written here: the version from pyproject.toml, the architecture from dpkg,
Depends from the libraries the frozen files really load (``dpkg-shlibdeps``). Members are
xz-compressed, which every supported dpkg reads (zstd needs dpkg >= 1.21.18).
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from installer.hostlibs import shlib_depends
from installer.lintian import overrides_text, strip_libraries
from installer.project import (
    APP_DIR_NAME,
    ICON_SIZES,
    ROOT,
    TRAY_DIR_NAME,
    BuildError,
    project_version,
)

__all__ = [
    "ALTERNATIVE",
    "COMMAND",
    "DEPENDS",
    "MAINTAINER",
    "PACKAGE",
    "TRAY_DEPENDS",
    "TRAY_PACKAGE",
    "architecture",
    "build_debs",
    "control_text",
    "run_lintian",
    "stage_server",
    "stage_tray",
]

PACKAGE = "agent-shepherd"
TRAY_PACKAGE = "agent-shepherd-tray"
COMMAND = "agent-shepherd"  # /usr/bin/agent-shepherd
ALTERNATIVE = "shepherd"  # /usr/bin/shepherd through update-alternatives
DESKTOP_ID = "org.agentshepherd.tray"
MAINTAINER = "agent-shepherd maintainers <maintainers@users.noreply.r-seed-9b2cddd5.example>"
# Beyond what dpkg-shlibdeps finds: `adduser` for the postinst's addgroup. The root of the
# systemd test host holds these (sandbox/debian_root.py), so a server install needs no network.
DEPENDS = ["adduser"]
# Loaded by Qt with dlopen (no ELF names them): the xcb cursor theme, EGL/GL dispatch.
TRAY_DEPENDS = ["libxcb-cursor0", "libegl1", "libgl1"]
# The last version with one package for both (and /etc/xdg/autostart for every account).
_SPLIT_AT = "0.2.0~"
_SERVER_DESCRIPTION = """\
keeps Teleport agents on their cluster's version, safely
 Shepherd keeps the Teleport agents on a host on the version their cluster
 wants, updates them only when it is safe (cluster and local maintenance
 windows, health checks, host-local canary) and rolls a bad update back by
 itself or with one click. It reads and writes the same on-disk layout as
 teleport-update.
 .
 This package holds the daemon (a systemd service) and the command line,
 `agent-shepherd` (also `shepherd` where no other package uses that name),
 as a self-contained build without any graphics library: what a server
 needs. Members of the 'shepherd' group may operate the agents."""
_TRAY_DESCRIPTION = """\
desktop tray for the Teleport agent updater Shepherd
 Shows the state of this host's Teleport agents as a tray icon (ok,
 updating, needs attention, error) and offers check now, update now, pause,
 one-click rollback, history and settings. It is a client of the Shepherd
 daemon (package agent-shepherd); any local user may read the status, and
 actions need the 'shepherd' group or an administrator's authorisation.
 Each user may start it at login (its autostart toggle)."""
_FILES = ROOT / "installer" / "deb"
_POLKIT_ACTIONS = ROOT / "installer" / "polkit" / "org.agentshepherd.policy"
_ASSETS = ROOT / "assets"
_SYMBOLIC = ROOT / "gui" / "panel_icons" / "hicolor" / "symbolic" / "apps"


@dataclass(frozen=True)
class _Spec:
    name: str
    folder: str
    section: str
    description: str
    depends: tuple[str, ...]
    relations: tuple[tuple[str, str], ...] = ()


def architecture() -> str:
    """This machine's Debian architecture (``dpkg --print-architecture``)."""
    try:
        out = subprocess.run(
            ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError) as e:
        raise BuildError(f"cannot ask dpkg for the architecture: {e}") from e
    return out.stdout.strip()


def control_text(
    name: str,
    version: str,
    arch: str,
    installed_kib: int,
    depends: list[str],
    *,
    section: str = "admin",
    description: str = _SERVER_DESCRIPTION,
    relations: tuple[tuple[str, str], ...] = (),
) -> str:
    """A DEBIAN/control file."""
    fields = {
        "Package": name,
        "Version": version,
        "Architecture": arch,
        "Maintainer": MAINTAINER,
        "Installed-Size": str(installed_kib),
        "Depends": ", ".join(depends),
        **dict(relations),
        "Section": section,
        "Priority": "optional",
        "Description": description,
    }
    return "".join(f"{key}: {value}\n" for key, value in fields.items())


def _changelog(name: str, version: str) -> bytes:
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))
    text = (
        f"{name} ({version}) unstable; urgency=medium\n\n"
        f"  * Self-contained build of agent-shepherd {version}.\n\n"
        f" -- {MAINTAINER}  {email.utils.formatdate(epoch)}\n"
    )
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def _copy(source: Path, target: Path, mode: int = 0o644) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(mode)


def _fresh(root: Path) -> None:
    if root.exists():
        if not (root / "DEBIAN").is_dir() and any(root.iterdir()):
            raise BuildError(f"refusing to empty {root}: it is not a package staging tree")
        shutil.rmtree(root)
    root.mkdir(parents=True)


def _docs(root: Path, name: str) -> None:
    doc = root / "usr/share/doc" / name
    _copy(_FILES / "copyright", doc / "copyright")
    (doc / "changelog.gz").write_bytes(_changelog(name, project_version()))


def stage_server(app: Path, root: Path) -> Path:
    """Lay ``agent-shepherd``'s tree out in ``root`` (emptied first), without DEBIAN/."""
    _fresh(root)
    shutil.copytree(app, root / "opt" / APP_DIR_NAME, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin" / COMMAND).symlink_to(f"/opt/{APP_DIR_NAME}/shepherd")
    _copy(_FILES / "shepherd.service", root / "lib/systemd/system/shepherd.service")
    _docs(root, PACKAGE)
    _copy(ROOT / "README.md", root / "usr/share/doc" / PACKAGE / "README.md")
    _copy(_POLKIT_ACTIONS, root / "usr/share/polkit-1/actions" / _POLKIT_ACTIONS.name)
    return root


def stage_tray(app: Path, root: Path) -> Path:
    """Lay ``agent-shepherd-tray``'s tree out in ``root`` (emptied first), without DEBIAN/."""
    _fresh(root)
    shutil.copytree(app, root / "opt" / TRAY_DIR_NAME, symlinks=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/shepherd-tray").symlink_to(f"/opt/{TRAY_DIR_NAME}/shepherd-tray")
    _copy(_FILES / f"{DESKTOP_ID}.desktop", root / f"usr/share/applications/{DESKTOP_ID}.desktop")
    _copy(
        _FILES / f"{DESKTOP_ID}.metainfo.xml",
        root / f"usr/share/metainfo/{DESKTOP_ID}.metainfo.xml",
    )
    icons = root / "usr/share/icons/hicolor"
    for size in ICON_SIZES:
        _copy(_ASSETS / f"agent-shepherd-{size}.png", icons / f"{size}x{size}/apps/{PACKAGE}.png")
    _copy(_ASSETS / "agent-shepherd.svg", icons / f"scalable/apps/{PACKAGE}.svg")
    for symbolic in sorted(_SYMBOLIC.glob("*-symbolic.svg")):  # the panel icons, by state
        _copy(symbolic, icons / "symbolic/apps" / symbolic.name)
    _docs(root, TRAY_PACKAGE)
    return root


def _finish(root: Path, spec: _Spec, scripts: tuple[str, ...]) -> None:
    """Stripped libraries, modes, lintian overrides, DEBIAN/ (scripts, md5sums, control with
    the computed Depends)."""
    strip_libraries(root / "opt" / spec.folder)
    control = root / "DEBIAN"
    control.mkdir(mode=0o755)
    for script in scripts:
        _copy(_FILES / script, control / script, 0o755)
    overrides = root / "usr/share/lintian/overrides" / spec.name
    overrides.parent.mkdir(parents=True, exist_ok=True)
    overrides.write_text(overrides_text(root, spec.name, spec.folder, control))
    _normalise_modes(root)
    (control / "md5sums").write_text(_md5sums(root))
    found = shlib_depends(root / "opt" / spec.folder, spec.name)
    named = {entry.split()[0] for entry in found}
    depends = [*found, *(d for d in spec.depends if d.split()[0] not in named)]
    (control / "control").write_text(
        control_text(
            spec.name,
            project_version(),
            architecture(),
            _installed_kib(root),
            depends,
            section=spec.section,
            description=spec.description,
            relations=spec.relations,
        )
    )
    for name in ("md5sums", "control"):
        (control / name).chmod(0o644)


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


def build_debs(dist_apps: Path, staging: Path, dist: Path, *, xz_level: int = 6) -> list[Path]:
    """Stage both packages from the frozen folders in ``dist_apps`` and build them into
    ``dist`` (xz at ``xz_level``, 0-9); returns ``[agent-shepherd.deb, agent-shepherd-tray.deb]``.

    Raises:
        BuildError: dpkg-deb or dpkg-shlibdeps is missing or failed.
    """
    if shutil.which("dpkg-deb") is None:
        raise BuildError("dpkg-deb is missing (apt-get install dpkg)")
    version, arch = project_version(), architecture()
    server = _Spec(PACKAGE, APP_DIR_NAME, "admin", _SERVER_DESCRIPTION, tuple(DEPENDS))
    split = f"{PACKAGE} (<< {_SPLIT_AT})"
    tray = _Spec(
        TRAY_PACKAGE,
        TRAY_DIR_NAME,
        "x11",
        _TRAY_DESCRIPTION,
        (f"{PACKAGE} (= {version})", *TRAY_DEPENDS),
        (("Breaks", split), ("Replaces", split)),
    )
    built = []
    dist.mkdir(parents=True, exist_ok=True)
    for spec, stage, scripts in (
        (server, stage_server, ("preinst", "postinst", "prerm", "postrm")),
        (tray, stage_tray, ()),
    ):
        root = stage(dist_apps / spec.folder, staging / spec.name)
        _finish(root, spec, scripts)
        deb = dist / f"{spec.name}_{version}_{arch}.deb"
        _dpkg_deb(root, deb, xz_level)
        built.append(deb)
    return built


def _dpkg_deb(root: Path, deb: Path, xz_level: int) -> None:
    result = subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zxz", f"-z{xz_level}", "--build", str(root), str(deb)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"dpkg-deb failed: {result.stderr.strip() or result.stdout.strip()}")


def run_lintian(debs: list[Path]) -> int:
    """Run lintian on the built packages and print what it says; its exit code (0: clean)."""
    if shutil.which("lintian") is None:
        print("lintian is not installed: skipped (apt-get install lintian)")
        return 0
    result = subprocess.run(
        ["lintian", "--display-info", "--suppress-tags", "no-manual-page", *map(str, debs)],
        check=False,
    )
    return result.returncode
