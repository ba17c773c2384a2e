"""Which unit the daemon runs in, and which directories it may open in its own sandbox.
(Opening them is proven on the booted host: tests/systemd/test_hardened_daemon.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.service.own_unit import OwnUnit, grantable_dir, read_only_here


@pytest.mark.parametrize(
    ("cgroup", "unit"),
    [
        ("0::/system.slice/shepherd.service\n", "shepherd.service"),
        ("12:pids:/x\n1:name=systemd:/system.slice/shepherd.service\n0::/\n", "shepherd.service"),
        ("0::/user.slice/user-1000.slice/session-2.scope\n", None),
        ("0::/\n", None),
    ],
    ids=["unified hierarchy", "hybrid hierarchy", "a login shell", "no systemd"],
)
def test_the_unit_is_read_from_the_process_cgroup(
    tmp_path: Path, cgroup: str, unit: str | None
) -> None:
    path = tmp_path / "cgroup"
    path.write_text(cgroup)
    found = OwnUnit.detect(path)
    assert (found.name if found else None) == unit


def test_no_cgroup_file_means_no_unit(tmp_path: Path) -> None:
    assert OwnUnit.detect(tmp_path / "missing") is None


@pytest.mark.parametrize(
    "path",
    ["/opt/edge/bin", "/var/lib/teleport_edge", "/srv/teleport/bin/", "/opt/teleport/edge"],
    ids=["custom link dir", "namespaced data dir", "trailing slash", "namespace dir"],
)
def test_an_agent_directory_may_be_opened(path: str) -> None:
    assert grantable_dir(Path(path)) == path.rstrip("/")


@pytest.mark.parametrize(
    "path",
    ["/", "/usr", "/usr/bin", "/var/lib", "/etc/systemd", "/opt/teleport", "/etc"],
    ids=["root", "usr", "usr-bin", "var-lib", "systemd config", "all namespaces", "etc"],
)
def test_a_system_directory_is_refused_by_name(path: str) -> None:
    with pytest.raises(InvalidInput, match=f"system directory {path}"):
        grantable_dir(Path(path))


@pytest.mark.parametrize(
    "path",
    ["relative/bin", "/opt/a b/bin", "/opt/%h/bin", "/opt/x/../../usr/bin"],
    ids=["relative", "space", "systemd specifier", "dot-dot"],
)
def test_a_path_systemd_would_misread_is_refused(path: str) -> None:
    with pytest.raises(InvalidInput, match="will not make"):
        grantable_dir(Path(path))


def test_a_missing_directory_is_judged_by_its_parent(tmp_path: Path) -> None:
    assert read_only_here(tmp_path / "not" / "yet") is False  # (read-only: the booted host)
