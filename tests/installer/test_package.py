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

from tests.installer.conftest import ROOT, Package

ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)


def _control(package: Package) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = ""
    for line in (package.control / "control").read_text().splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def _listing(package: Package) -> dict[str, tuple[str, str, str]]:
    """path -> (mode string, owner/group, link target or '') from ``dpkg-deb -c``."""
    out = subprocess.run(
        ["dpkg-deb", "-c", str(package.deb)], capture_output=True, text=True, check=True
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


def test_control_fields(package: Package) -> None:
    fields = _control(package)
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fields["Package"] == "agent-shepherd"
    assert fields["Version"] == version
    assert fields["Architecture"] == arch
    assert re.fullmatch(r".+ <[^@\s]+@[^@\s]+>", fields["Maintainer"])
    assert int(fields["Installed-Size"]) > 50_000  # KiB: the frozen Python and Qt
    depends = {d.split()[0] for d in fields["Depends"].split(", ")}
    # the postinst's addgroup, and what Qt's xcb plugin loads from the system
    assert {"adduser", "libxcb-icccm4", "libxcb-cursor0", "libxkbcommon-x11-0"} <= depends
    assert fields["Description"].splitlines()[0].strip()
    assert package.deb.name == f"agent-shepherd_{version}_{arch}.deb"
    # dpkg-deb info agrees with the control file it was given
    info = subprocess.run(
        ["dpkg-deb", "-f", str(package.deb), "Package", "Version"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert info.splitlines() == ["Package: agent-shepherd", f"Version: {version}"]


def test_compressed_with_zstd(package: Package) -> None:
    assert _ar_members(package.deb) == ["debian-binary", "control.tar.zst", "data.tar.zst"]


def test_file_list(package: Package) -> None:
    entries = _listing(package)
    expected_files = [
        "/opt/agent-shepherd/shepherd",
        "/opt/agent-shepherd/shepherd-tray",
        "/lib/systemd/system/shepherd.service",
        "/usr/share/applications/agent-shepherd.desktop",
        "/etc/xdg/autostart/agent-shepherd-tray.desktop",
        "/usr/share/icons/hicolor/scalable/apps/agent-shepherd.svg",
        "/usr/share/doc/agent-shepherd/copyright",
        "/usr/share/doc/agent-shepherd/changelog.gz",
        "/usr/share/polkit-1/actions/org.agentshepherd.policy",
        *(f"/usr/share/icons/hicolor/{n}x{n}/apps/agent-shepherd.png" for n in ICON_SIZES),
    ]
    for path in expected_files:
        assert path in entries, path
        assert entries[path][0].startswith("-"), path
    for name in ("shepherd", "shepherd-tray"):
        mode, _, target = entries[f"/usr/bin/{name}"]
        assert mode.startswith("l")
        assert target == f"/opt/agent-shepherd/{name}"
        assert entries[f"/opt/agent-shepherd/{name}"][0] == "-rwxr-xr-x"
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


def test_frozen_tree_holds_what_is_loaded_at_run_time(package: Package) -> None:
    internal = package.app / "_internal"
    platforms = internal / "PySide6" / "Qt" / "plugins" / "platforms"
    assert (platforms / "libqxcb.so").is_file()
    assert (platforms / "libqoffscreen.so").is_file()
    assert (internal / "engine" / "demo_scenario.yaml").is_file()


def test_conffiles_and_md5sums(package: Package) -> None:
    conffiles = (package.control / "conffiles").read_text().split()
    assert conffiles == ["/etc/xdg/autostart/agent-shepherd-tray.desktop"]
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
    assert service["ExecStart"] == "/usr/bin/shepherd daemon"
    assert service["RuntimeDirectory"] == "shepherd"  # /run/shepherd/api.sock
    assert service["Restart"] == "on-failure"
    watchdog = service["WatchdogSec"]
    assert watchdog.endswith("s")
    assert 10 <= int(watchdog.removesuffix("s")) <= 300
    # a running update may take the daemon's 120 s stop grace
    assert int(service["TimeoutStopSec"].removesuffix("s")) > 120
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"]["After"]


@pytest.mark.parametrize(
    ("path", "command"),
    [
        ("usr/share/applications/agent-shepherd.desktop", "shepherd-tray --window"),
        ("etc/xdg/autostart/agent-shepherd-tray.desktop", "shepherd-tray"),
    ],
    ids=["menu entry opens the window", "autostart runs the tray"],
)
def test_desktop_entries(package: Package, path: str, command: str) -> None:
    entry = _ini(package.root / path)["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == command
    assert (package.root / "usr/bin" / command.split(maxsplit=1)[0]).is_symlink()
    assert entry["Icon"] == "agent-shepherd"
    assert entry["Terminal"] == "false"
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(
            ["desktop-file-validate", str(package.root / path)],
            capture_output=True,
            text=True,
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
    for name in ("postinst", "prerm", "postrm"):
        script = package.control / name
        assert stat.S_IMODE(script.stat().st_mode) == 0o755
        assert script.read_text().startswith("#!/bin/sh\n")
        result = subprocess.run(
            ["sh", "-n", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
