"""What the .deb holds: control fields, the file list, the unit, the desktop entries."""

from __future__ import annotations

import configparser
import re
import shutil
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest

from gui.viewmodel import IconState
from tests.installer.conftest import ROOT, Package

ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def _control(control_dir: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in (control_dir / "control").read_text().splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _depends(fields: dict[str, str]) -> dict[str, str]:
    """package -> its version constraint ('' for none)."""
    found = {}
    for entry in fields["Depends"].split(", "):
        name, _, constraint = entry.partition(" ")
        found[name] = constraint
    return found


def _listing(deb: Path) -> dict[str, tuple[str, str, str]]:
    """path -> (mode string, owner/group, link target or '') from ``dpkg-deb -c``."""
    out = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    entries = {}
    for line in out.splitlines():
        mode, owner, _size, _date, _time, rest = line.split(maxsplit=5)
        name, _, target = rest.partition(" -> ")
        entries[name.removeprefix(".").rstrip("/") or "/"] = (mode, owner, target)
    return entries


def _ar_members(deb: Path) -> list[str]:
    data = deb.read_bytes()
    assert data.startswith(b"!<arch>\n")
    names, offset = [], 8
    while offset < len(data):
        header = data[offset : offset + 60]
        names.append(header[:16].decode().strip().rstrip("/"))
        size = int(header[48:58].decode())
        offset += 60 + size + (size % 2)
    return names


def _project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as f:
        version: str = tomllib.load(f)["project"]["version"]
    return version


# what a headless server must not pull in: Qt, X11/xcb, Wayland, GL, fonts, GLib, GTK
GRAPHICS = re.compile(r"^(lib)?(qt|pyside|xcb|x11|xkb|wayland|gl|egl|gbm|drm|fontconfig|"
                      r"freetype|glib|gtk|cairo|pango|dbus)", re.IGNORECASE)  # fmt: skip


def test_control_fields(package: Package) -> None:
    version = _project_version()
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    server, tray = _control(package.control), _control(package.tray_control)
    assert (server["Package"], tray["Package"]) == ("agent-shepherd", "agent-shepherd-tray")
    for fields in (server, tray):
        assert fields["Version"] == version
        assert fields["Architecture"] == arch
        assert re.fullmatch(r".+ <[^@\s]+@[^@\s]+>", fields["Maintainer"])
        assert fields["Description"].splitlines()[0].strip()
    assert package.deb.name == f"agent-shepherd_{version}_{arch}.deb"
    assert package.tray_deb.name == f"agent-shepherd-tray_{version}_{arch}.deb"
    assert int(server["Installed-Size"]) > 20_000  # KiB: the frozen Python
    assert int(tray["Installed-Size"]) > 50_000  # and Qt

    depends = _depends(server)
    assert "adduser" in depends
    # the libc floor comes from the symbols the frozen files use (dpkg-shlibdeps)
    assert re.fullmatch(r"\(>= 2\.\d+\)", depends["libc6"]), depends
    assert [name for name in depends if GRAPHICS.match(name)] == []

    tray_depends = _depends(tray)
    assert tray_depends["agent-shepherd"] == f"(= {version})"
    # what Qt's xcb and Wayland platform plugins load from the system
    assert {
        "libxcb-icccm4", "libxcb-cursor0", "libxkbcommon-x11-0", "libwayland-client0",
        "libwayland-cursor0", "libwayland-egl1", "libegl1", "libfontconfig1", "libstdc++6",
    } <= tray_depends.keys()  # fmt: skip
    # the one package of 0.1.x held the tray's files
    assert tray["Breaks"] == tray["Replaces"] == "agent-shepherd (<< 0.2.0~)"
    info = subprocess.run(
        ["dpkg-deb", "-f", str(package.deb), "Package", "Version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert info.splitlines() == ["Package: agent-shepherd", f"Version: {version}"]


def test_compressed_with_xz_which_every_supported_dpkg_reads(package: Package) -> None:
    for deb in (package.deb, package.tray_deb):
        assert _ar_members(deb) == ["debian-binary", "control.tar.xz", "data.tar.xz"]


SERVER_FILES = [
    "/opt/agent-shepherd/shepherd",
    "/lib/systemd/system/shepherd.service",
    "/usr/share/doc/agent-shepherd/copyright",
    "/usr/share/doc/agent-shepherd/changelog.gz",
    "/usr/share/polkit-1/actions/org.agentshepherd.policy",
]
TRAY_FILES = [
    "/opt/agent-shepherd-tray/shepherd-tray",
    "/usr/share/applications/org.agentshepherd.tray.desktop",
    "/usr/share/metainfo/org.agentshepherd.tray.metainfo.xml",
    "/usr/share/icons/hicolor/scalable/apps/agent-shepherd.svg",
    "/usr/share/doc/agent-shepherd-tray/copyright",
    *(f"/usr/share/icons/hicolor/{n}x{n}/apps/agent-shepherd.png" for n in ICON_SIZES),
    *(
        f"/usr/share/icons/hicolor/symbolic/apps/agent-shepherd-{state.value}-symbolic.svg"
        for state in IconState
    ),
]


@pytest.mark.parametrize(
    ("which", "files", "links"),
    [
        ("deb", SERVER_FILES, {"/usr/bin/agent-shepherd": "/opt/agent-shepherd/shepherd"}),
        (
            "tray_deb",
            TRAY_FILES,
            {"/usr/bin/shepherd-tray": "/opt/agent-shepherd-tray/shepherd-tray"},
        ),
    ],
    ids=["the server package", "the tray package"],
)
def test_file_list(package: Package, which: str, files: list[str], links: dict[str, str]) -> None:
    entries = _listing(getattr(package, which))
    for path in files:
        assert path in entries, path
        assert entries[path][0].startswith("-"), path
    for link, target in links.items():
        mode, _, found = entries[link]
        assert mode.startswith("l") and found == target, (link, entries[link])
        assert entries[target][0] == "-rwxr-xr-x"
    # /usr/bin/shepherd is update-alternatives' (GNU Shepherd ships that file on Debian 13);
    # no autostart for every account
    assert "/usr/bin/shepherd" not in entries
    assert not any(p.startswith("/etc/xdg") for p in entries)
    # owned by root, nothing writable by group or others, no setuid, libraries not executable
    for path, (mode, owner, _) in entries.items():
        assert owner == "root/root", path
        if mode.startswith("l"):
            continue
        assert mode[5] == "-" and mode[8] == "-", (path, mode)
        assert "s" not in mode, (path, mode)
        if re.search(r"\.so(\.|$)", path):
            assert "x" not in mode[1:], (path, mode)
    assert not any(p.startswith(("/usr/local", "/home", "/root", "/tmp")) for p in entries)


def test_the_server_package_holds_no_qt_and_the_two_share_no_file(package: Package) -> None:
    server, tray = _listing(package.deb), _listing(package.tray_deb)
    qt = [p for p in server if re.search(r"PySide6|shiboken|libQt6|libxcb|/gui/", p)]
    assert qt == []
    shared = {p for p in server.keys() & tray.keys() if not server[p][0].startswith("d")}
    assert shared == set()


def test_frozen_trees_hold_what_is_loaded_at_run_time(package: Package) -> None:
    platforms = package.tray_app / "_internal" / "PySide6" / "Qt" / "plugins" / "platforms"
    assert (platforms / "libqxcb.so").is_file()
    assert (platforms / "libqwayland.so").is_file()
    assert (platforms / "libqoffscreen.so").is_file()
    panel_icons = package.tray_app / "_internal" / "gui" / "panel_icons" / "hicolor"
    for state in IconState:  # the StatusNotifierItem's IconThemePath, frozen
        name = f"agent-shepherd-{state.value}-symbolic.svg"
        assert (panel_icons / "symbolic" / "apps" / name).is_file()
    for app in (package.app, package.tray_app):
        assert (app / "_internal" / "engine" / "demo_scenario.yaml").is_file()
        assert (app / "_internal" / "engine" / "VERSION").read_text().strip() == (
            _project_version()
        )


HOST_ONLY = re.compile(
    r"^lib(stdc\+\+|gcc_s|GL|EGL|GLX|GLdispatch|gbm|drm|glib-2\.0|gobject-2\.0|gio-2\.0|"
    r"gtk-3|gdk-3|systemd|udev|X11|xcb|xkbcommon|wayland-\w+|fontconfig|freetype|dbus-1|ssl|"
    r"crypto)\.so"
)


def test_nothing_that_must_match_the_host_is_bundled(package: Package) -> None:
    bundled = [p for p in package.root.joinpath("opt").rglob("*.so*") if HOST_ONLY.match(p.name)]
    assert bundled == []
    gtk_theme = package.tray_app / "_internal/PySide6/Qt/plugins/platformthemes/libqgtk3.so"
    assert not gtk_theme.exists()


def test_no_build_machine_library_search_path(package: Package) -> None:
    """Only $ORIGIN-relative RUNPATHs: nothing points at the build machine's Python or Qt."""
    offending = []
    for path in package.root.joinpath("opt").rglob("*"):
        if path.is_symlink() or not path.is_file() or path.read_bytes()[:4] != b"\x7fELF":
            continue
        dynamic = subprocess.run(
            ["readelf", "-d", str(path)], capture_output=True, text=True, check=False
        ).stdout
        for line in dynamic.splitlines():
            if "(RUNPATH)" in line or "(RPATH)" in line:
                value = line.split("[", 1)[1].rstrip("]")
                if any(not entry.startswith("$ORIGIN") for entry in value.split(":")):
                    offending.append(f"{path.relative_to(package.root)}: {value}")
    assert offending == []


def test_no_conffiles_and_md5sums(package: Package) -> None:
    for control in (package.control, package.tray_control):
        assert not (control / "conffiles").exists()
    sums = dict(
        reversed(line.split(maxsplit=1))
        for line in (package.control / "md5sums").read_text().splitlines()
    )
    assert "opt/agent-shepherd/shepherd" in sums
    assert "lib/systemd/system/shepherd.service" in sums


def _ini(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def test_systemd_unit(package: Package) -> None:
    unit = _ini(package.root / "lib/systemd/system/shepherd.service")
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["ExecStart"] == "/usr/bin/agent-shepherd daemon"
    assert service["RuntimeDirectory"] == "shepherd"  # /run/shepherd/api.sock
    assert service["Restart"] == "on-failure"
    watchdog = service["WatchdogSec"]
    assert watchdog.endswith("s")
    assert 10 <= int(watchdog.removesuffix("s")) <= 300
    # a running update may take the daemon's 120 s stop grace
    assert int(service["TimeoutStopSec"].removesuffix("s")) > 120
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"]["After"]


def _desktop_file_validate(path: Path) -> None:
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == "", result.stdout  # no warnings either


def test_the_menu_entry_opens_the_window_and_validates(package: Package) -> None:
    path = package.root / "usr/share/applications/org.agentshepherd.tray.desktop"
    entry = _ini(path)["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "shepherd-tray --window"
    assert (package.root / "usr/bin/shepherd-tray").is_symlink()
    assert entry["Icon"] == "agent-shepherd"
    assert entry["Terminal"] == "false"
    _desktop_file_validate(path)


def test_the_per_user_autostart_entry_validates(tmp_path: Path) -> None:
    from gui.autostart import AUTOSTART_ENTRY  # noqa: PLC0415 (Qt-free)

    path = tmp_path / "org.agentshepherd.tray.desktop"
    path.write_text(AUTOSTART_ENTRY)
    assert _ini(path)["Desktop Entry"]["Exec"] == "shepherd-tray"
    _desktop_file_validate(path)


def test_appstream_metainfo_validates_and_names_the_menu_entry(package: Package) -> None:
    metainfo = package.root / "usr/share/metainfo/org.agentshepherd.tray.metainfo.xml"
    result = subprocess.run(
        ["appstreamcli", "validate", "--no-net", str(metainfo)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = metainfo.read_text()
    assert "<id>org.agentshepherd.tray</id>" in text
    assert '<launchable type="desktop-id">org.agentshepherd.tray.desktop</launchable>' in text
    assert f'<release version="{_project_version()}"' in text


def test_lintian_overrides_name_exact_files(package: Package) -> None:
    for name in ("agent-shepherd", "agent-shepherd-tray"):
        overrides = package.root / "usr/share/lintian/overrides" / name
        for line in overrides.read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            assert line.startswith(f"{name}: "), line
            assert "*" not in line and re.search(r"\[\S+\]$", line), line


def test_lintian_finds_no_error(package: Package) -> None:
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (make deb installs it)")
    result = subprocess.run(
        # no man pages yet (README, "Not yet"); everything else must be clean
        [
            "lintian",
            "--fail-on",
            "error,warning",
            "--suppress-tags",
            "no-manual-page",
            str(package.deb),
            str(package.tray_deb),
        ],
        capture_output=True,
        text=True,
        timeout=800,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_icons_are_the_right_size(package: Package) -> None:
    for n in ICON_SIZES:
        png = (
            package.root / f"usr/share/icons/hicolor/{n}x{n}/apps/agent-shepherd.png"
        ).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert (width, height) == (n, n)
    svg = (package.root / "usr/share/icons/hicolor/scalable/apps/agent-shepherd.svg").read_text()
    assert "<svg" in svg


def test_maintainer_scripts_parse(package: Package) -> None:
    for name in ("preinst", "postinst", "prerm", "postrm"):
        script = package.control / name
        assert stat.S_IMODE(script.stat().st_mode) == 0o755
        assert script.read_text().startswith("#!/bin/sh\n")
        result = subprocess.run(
            ["sh", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
