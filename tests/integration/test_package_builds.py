"""The testbed's .deb and .rpm builds of the fake agent, for each edition."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from sandbox.agentbuild import Behaviour
from sandbox.packagebuild import PACKAGE_NAMES, PackageName, build_deb, build_rpm

pytestmark = pytest.mark.integration


def _out(*argv: str) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout


@pytest.mark.parametrize("name", PACKAGE_NAMES)
def test_each_edition_builds_as_deb_and_rpm_with_the_agent_and_its_unit(
    name: PackageName, tmp_path: Path
) -> None:
    deb = build_deb(tmp_path, name, "17.2.1", behaviour=Behaviour.named("crash-at-start"))
    rpm = build_rpm(tmp_path, name, "17.2.1")

    assert _out("dpkg-deb", "--field", str(deb.path), "Package", "Version").split() == [
        "Package:",
        name,
        "Version:",
        "17.2.1",
    ]
    files = _out("dpkg-deb", "--contents", str(deb.path))
    assert "./usr/local/bin/teleport" in files and "./lib/systemd/system/teleport.service" in files
    assert _out("rpm", "-qp", "--qf", "%{NAME} %{VERSION}", str(rpm.path)) == f"{name} 17.2.1"
    listed = _out("rpm", "-qlp", str(rpm.path)).split()
    assert "/usr/local/bin/teleport" in listed and "/lib/systemd/system/teleport.service" in listed
