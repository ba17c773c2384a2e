"""Shepherd's own version, as a user sees it: ``shepherd --version``, ``shepherd version``, the
API's answers (``GET /v1``, ``GET /v1/agents``) from a real daemon process, and the exit code
of a user the socket refuses (4, as the README documents)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.fixtures.daemon import RunningDaemon

pytestmark = pytest.mark.integration

OUTSIDER = "shepherd-outsider"
ROOT = Path(__file__).resolve().parents[2]


def _project_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as stream:
        version: str = tomllib.load(stream)["project"]["version"]
    return version


def test_dash_dash_version_prints_the_project_version_without_a_daemon() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"shepherd {_project_version()}\n"


def test_version_command_says_the_daemon_is_not_reachable_and_still_succeeds() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--socket", "/nonexistent/api.sock", "version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == f"shepherd {_project_version()}"
    assert second.startswith("daemon: not reachable (the Shepherd daemon is not running")


def test_the_daemon_reports_its_version_in_hello_agents_and_the_version_command(
    shepherd_daemon: RunningDaemon,
) -> None:
    version = _project_version()
    hello = shepherd_daemon.api.get("/v1")
    assert hello["version"] == version
    assert hello["shepherd"]["version"] == version
    # this test machine has no agent-shepherd package: nothing installed, nothing offered
    assert hello["shepherd"]["available"] is None
    listing = shepherd_daemon.api.get("/v1/agents")
    assert listing["shepherd"] == hello["shepherd"]

    shown = shepherd_daemon.cli("version")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        f"shepherd {version}",
        f"daemon: {version} (pid {shepherd_daemon.process.pid})",
    ]
    as_json = json.loads(shepherd_daemon.cli("version", "--json").stdout)
    assert as_json["version"] == version
    assert as_json["daemon"] == {"version": version, "pid": shepherd_daemon.process.pid}


def test_a_socket_this_user_may_not_open_exits_4_permission_denied(
    shepherd_daemon: RunningDaemon,
) -> None:
    if subprocess.run(["id", OUTSIDER], capture_output=True, check=False).returncode != 0:
        subprocess.run(["useradd", "--no-create-home", OUTSIDER], check=True)
    shepherd_daemon.socket.chmod(0o600)  # as an admin who locked the socket down would
    code, output = shepherd_daemon.cli_as(OUTSIDER, "status")
    assert code == 4, output
    assert f"permission denied on {shepherd_daemon.socket}" in output
