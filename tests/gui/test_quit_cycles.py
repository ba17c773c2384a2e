"""No crash on quit: the real tray program, against the real daemon, started, shown the
agent, made to follow a pause and a resume, and quit by SIGTERM (a session logging out) or
SIGINT (Ctrl-C), fifty times; it exits 0 every time with no fatal error."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.fixtures.daemon import RunningDaemon
from tests.gui.tray_process import start_tray_process

pytestmark = pytest.mark.integration

CYCLES = 50


@pytest.mark.timeout(900)
def test_fifty_start_activity_quit_cycles_exit_0(
    shepherd_daemon: RunningDaemon, tmp_path: Path
) -> None:
    api = shepherd_daemon.api
    codes: list[int] = []
    for cycle in range(CYCLES):
        tray = start_tray_process(shepherd_daemon.socket, tmp_path / f"cycle{cycle % 2}")
        try:
            tray.wait_for_log("default — 17.1.0 · ")
            api.post("/v1/agents/default/pin")
            tray.wait_for_log("paused (pinned)")
            api.post("/v1/agents/default/unpin")
            tray.wait_for_log("· not checked yet")  # never asked the cluster: not "up to date"
            code = tray.quit(signal.SIGTERM if cycle % 2 else signal.SIGINT)
        finally:
            tray.kill()
        output = tray.output()
        assert "Fatal Python error" not in output, output
        assert "quit (exit code 0)" in tray.log_text(), output
        codes.append(code)
    assert codes == [0] * CYCLES
