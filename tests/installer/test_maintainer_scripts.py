"""The packaged maintainer scripts, run for real with every command they may call replaced
by a stub on PATH (which holds nothing else), so they change nothing on this host: no
group is added, no unit enabled, nothing removed. Whether systemd "is running" is decided
by a directory the test creates or not in place of /run/systemd/system."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.installer.conftest import Package

STUBS = (
    "getent",
    "addgroup",
    "deb-systemd-helper",
    "deb-systemd-invoke",
    "systemctl",
    "rm",
    "dpkg-maintscript-helper",
    "update-alternatives",
)
UNIT = "shepherd.service"
ALTERNATIVE = (
    "update-alternatives --quiet --install /usr/bin/shepherd shepherd "
    "/opt/agent-shepherd/shepherd 50"
)
NO_ALTERNATIVE = "update-alternatives --quiet --remove shepherd /opt/agent-shepherd/shepherd"


def rm_conffile(*args: str) -> str:
    """The 0.1.x autostart-for-everyone conffile goes (dpkg-maintscript-helper's own rules)."""
    return (
        "dpkg-maintscript-helper rm_conffile /etc/xdg/autostart/agent-shepherd-tray.desktop "
        f"0.2.0~ agent-shepherd -- {' '.join(args)}"
    )


@dataclass(frozen=True)
class Case:
    script: str
    args: tuple[str, ...]
    systemd: bool
    expected: list[str]
    group_exists: bool = True
    was_enabled: bool = True
    env: dict[str, str] = field(default_factory=dict)


ENABLE = [f"deb-systemd-helper unmask {UNIT}", f"deb-systemd-helper --quiet was-enabled {UNIT}"]

CASES = {
    "first install without systemd: group added, unit enabled, nothing started": Case(
        "postinst",
        ("configure", ""),
        systemd=False,
        group_exists=False,
        expected=[
            rm_conffile("configure", ""),
            "getent group shepherd",
            "addgroup --system --quiet shepherd",
            ALTERNATIVE,
            *ENABLE,
            f"deb-systemd-helper enable {UNIT}",
        ],
    ),
    "first install under systemd with the group already there: started": Case(
        "postinst",
        ("configure", ""),
        systemd=True,
        expected=[
            rm_conffile("configure", ""),
            "getent group shepherd",
            ALTERNATIVE,
            *ENABLE,
            f"deb-systemd-helper enable {UNIT}",
            "systemctl --system daemon-reload",
            f"deb-systemd-invoke start {UNIT}",
        ],
    ),
    "upgrade under systemd of a unit the admin disabled: restarted, not re-enabled": Case(
        "postinst",
        ("configure", "0.0.9"),
        systemd=True,
        was_enabled=False,
        expected=[
            rm_conffile("configure", "0.0.9"),
            "getent group shepherd",
            ALTERNATIVE,
            *ENABLE,
            f"deb-systemd-helper update-state {UNIT}",
            "systemctl --system daemon-reload",
            f"deb-systemd-invoke restart {UNIT}",
        ],
    ),
    "remove without systemd: prerm gives the shepherd name back only": Case(
        "prerm", ("remove",), systemd=False, expected=[NO_ALTERNATIVE]
    ),
    "remove under systemd: prerm stops the daemon": Case(
        "prerm",
        ("remove",),
        systemd=True,
        expected=[f"deb-systemd-invoke stop {UNIT}", NO_ALTERNATIVE],
    ),
    "upgrade under systemd: prerm leaves the daemon to the postinst's restart": Case(
        "prerm", ("upgrade", "0.2.0"), systemd=True, expected=[]
    ),
    "remove without systemd: postrm masks the unit only": Case(
        "postrm",
        ("remove",),
        systemd=False,
        expected=[rm_conffile("remove"), f"deb-systemd-helper mask {UNIT}"],
    ),
    "remove under systemd: postrm reloads systemd": Case(
        "postrm",
        ("remove",),
        systemd=True,
        expected=[
            rm_conffile("remove"),
            "systemctl --system daemon-reload",
            f"deb-systemd-helper mask {UNIT}",
        ],
    ),
    "purge: unit state and Shepherd's own settings and state go, the group stays": Case(
        "postrm",
        ("purge",),
        systemd=False,
        expected=[
            rm_conffile("purge"),
            f"deb-systemd-helper purge {UNIT}",
            f"deb-systemd-helper unmask {UNIT}",
            "rm -rf /etc/shepherd /var/lib/shepherd",
            "rm -f /etc/systemd/system/shepherd.service.d/60-agent-paths.conf",
        ],
    ),
    "upgrade from 0.1.x: preinst readies the removal of the autostart conffile": Case(
        "preinst", ("upgrade", "0.1.0"), systemd=False, expected=[rm_conffile("upgrade", "0.1.0")]
    ),
}


def _stubs(directory: Path) -> None:
    directory.mkdir()
    for name in STUBS:
        stub = directory / name
        body = f'echo "{name} $*" >> "$CALLS"\n'
        if name == "getent":
            body += '[ "$GROUP_EXISTS" = yes ]\n'
        elif name == "deb-systemd-helper":
            body += 'if [ "$2" = was-enabled ]; then [ "$WAS_ENABLED" = yes ]; fi\n'
        stub.write_text(f"#!/bin/sh\n{body}")
        stub.chmod(0o755)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_maintainer_script(package: Package, tmp_path: Path, case: Case) -> None:
    text = (package.control / case.script).read_text()
    systemd_dir = tmp_path / "run-systemd-system"
    if case.systemd:
        systemd_dir.mkdir()
    if case.script != "preinst":
        assert "/run/systemd/system" in text
    script = tmp_path / case.script
    script.write_text(text.replace("/run/systemd/system", str(systemd_dir)))
    _stubs(tmp_path / "bin")
    calls = tmp_path / "calls"
    calls.touch()
    result = subprocess.run(
        ["/bin/sh", str(script), *case.args],
        env={
            "PATH": str(tmp_path / "bin"),
            "CALLS": str(calls),
            "GROUP_EXISTS": "yes" if case.group_exists else "no",
            "WAS_ENABLED": "yes" if case.was_enabled else "no",
        },
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert calls.read_text().splitlines() == case.expected


def test_no_systemctl_call_escapes_the_guard(package: Package) -> None:
    """Every line that talks to a running systemd sits inside an
    ``if [ -d /run/systemd/system ]`` block (RECIPES: an unguarded one fails here)."""
    for name in ("postinst", "prerm", "postrm"):
        depth, guarded = 0, False
        for line in (package.control / name).read_text().splitlines():
            stripped = line.strip()
            if stripped.startswith("if "):
                depth += 1
                if "/run/systemd/system" in stripped:
                    guarded = True
                    guard_depth = depth
            elif stripped == "fi":
                if guarded and depth == guard_depth:
                    guarded = False
                depth -= 1
            elif stripped.startswith(("systemctl", "deb-systemd-invoke")):
                assert guarded, f"{name}: {stripped}"
