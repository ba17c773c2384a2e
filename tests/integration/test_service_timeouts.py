"""A frozen service manager fails an update cleanly: real supervisord stopped with SIGSTOP
while an update runs; every supervisorctl call gives up at its timeout, the update fails
naming supervisord, and the agent is left running its old version."""

from __future__ import annotations

import os
import signal
import time

import pytest

from engine.install.links import linked_revision
from engine.service.health import read_pid
from engine.service.supervisor import Supervisord
from engine.store.history import History
from engine.update.transaction import Transaction
from engine.versions import Revision
from tests.fixtures.sandboxhost import SandboxHost, readyz_pid

pytestmark = pytest.mark.integration
TIMEOUT = 2.0


def test_a_stopped_supervisord_fails_the_update_and_the_old_version_keeps_running(
    sandbox_host: SandboxHost,
) -> None:
    layout = sandbox_host.add_agent()
    pid = sandbox_host.wait_healthy(layout)
    sandbox_host.publish("17.2.1")
    manager = int((sandbox_host.supervisor.workdir / "supervisord.pid").read_text())
    context = sandbox_host.context(
        service=Supervisord(sandbox_host.supervisor.config_path, timeout_seconds=TIMEOUT)
    )
    os.kill(manager, signal.SIGSTOP)
    try:
        started = time.monotonic()
        outcome = Transaction(context).update(Revision.of("17.2.1"), uid=0, reason="test")
        took = time.monotonic() - started
    finally:
        os.kill(manager, signal.SIGCONT)
    assert not outcome.ok
    assert "supervisord did not answer" in outcome.message, outcome.message
    assert f"within {TIMEOUT:g} s" in outcome.message
    assert took < 120, took  # a few timeouts, not the old 120 s each or forever
    assert linked_revision(layout) == "17.1.0"
    assert read_pid(layout.pid_file) == pid and readyz_pid(layout) == pid  # never touched
    assert sandbox_host.running_version(layout) == "17.1.0"
    record = History(layout.state_dir).query()[0]
    assert record.outcome == "failed" and "supervisord" in record.message
    # thawed, the manager answers again and still runs the old agent
    assert sandbox_host.supervisor.state(layout.unit_name) == "RUNNING"
