"""Screenshots of the new windows on a real X display — Xvfb with a panel hosting the
tray's icon (xfce4-panel's StatusNotifierItem host, else trayer) and a notification
daemon (dunst) — against a REAL daemon with two agents: ``staging`` updated
to 17.2.1, ``default`` offered 17.2.1 behind the cluster's closed window. The status
window (cards and week strip), the update prompt, history and settings (with the refusal
reason of a bad CDN) each exist as a picture, lie inside the screen, and cut no text short
that must be read whole: versions, times, the reason. Skipped only when Xvfb cannot start.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.emulator import ClusterEmulator
from tests.fixtures.daemon import RunningDaemon, start_daemon
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def two_agents(sandbox_host: SandboxHost, cluster: ClusterEmulator) -> Iterator[RunningDaemon]:
    sandbox_host.add_agent(proxy=cluster.proxy_addr)
    sandbox_host.add_agent("staging", proxy=cluster.proxy_addr)
    sandbox_host.publish("17.2.1")
    daemon = start_daemon(sandbox_host, cluster)
    try:
        outcome = daemon.api.post("/v1/agents/staging/update", {"now": True})["outcome"]
        assert outcome["ok"] is True, outcome
        daemon.api.post("/v1/agents/default/check")  # the offer, held by the closed window
        yield daemon
    finally:
        daemon.stop(signal.SIGTERM)


@pytest.fixture
def desktop() -> Iterator[dict[str, str]]:
    if shutil.which("Xvfb") is None or not (shutil.which("xfce4-panel") or shutil.which("trayer")):
        pytest.fail("Xvfb or a panel is not installed (make apt installs them)")
    from scripts.demo_gui import desktop as start_desktop  # noqa: PLC0415

    try:
        with start_desktop() as env:
            yield env
    except SystemExit as e:  # scripts' waits end with SystemExit
        pytest.fail(f"the virtual desktop did not start: {e}")


def test_the_windows_are_on_screen_whole_with_nothing_cut_short(
    two_agents: RunningDaemon, desktop: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "shots"
    env = {**desktop, "PYTHONPATH": str(ROOT), "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("QT_QPA_PLATFORM", None)
    child = subprocess.run(
        [sys.executable, "-m", "tests.gui.desktop_shots", str(two_agents.socket), str(out)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert child.returncode == 0, child.stdout + child.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["problems"] == [], "\n".join(report["problems"])
    assert set(report["shots"]) == {
        "status-window", "desktop", "update-prompt", "history", "settings",
    }  # fmt: skip
    for path in report["shots"].values():
        assert Path(path).stat().st_size > 2000, path
    status = report["texts"]["status-window"]
    assert any("default — 17.1.0" in t for t in status)
    assert any("staging — 17.2.1" in t for t in status)
    assert any(t.startswith("next possible update") or "no update" in t for t in status)
    assert any("17.1.0 → 17.2.1" in t for t in report["texts"]["history"])
    assert any("https" in t for t in report["texts"]["settings"])
    assert (out / "desktop.png").exists()
