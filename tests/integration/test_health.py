"""The health check against real agent processes, one per behaviour knob."""

from __future__ import annotations

import pytest

from engine.install.links import switch_links
from engine.service.base import Reload
from engine.service.health import HealthCheck, HealthConfig, read_pid
from engine.service.supervisor import Supervisord
from engine.store.layout import Layout
from engine.versions import Revision
from sandbox.agentbuild import Behaviour
from sandbox.ports import wait_until
from tests.fixtures.artifacts import DirectAgent
from tests.fixtures.sandboxhost import SandboxHost

pytestmark = pytest.mark.integration
FAST = HealthConfig(poll_seconds=0.05, stable_polls=6, max_changes=2, timeout_seconds=4)


def reload_into(agent: DirectAgent, old: Behaviour, new: Behaviour) -> tuple[int, HealthCheck]:
    agent.link(agent.install("17.1.0", old))
    agent.start()
    wait_until(lambda: read_pid(agent.pid_file) is not None, 10, "the agent to start")
    wait_until((agent.data_dir / "debug.sock").exists, 10, "the debug socket")
    before = read_pid(agent.pid_file)
    assert before is not None
    agent.link(agent.install("17.2.1", new))
    agent.reload()
    return before, HealthCheck(FAST)


CASES = [
    ("good", Behaviour(), Behaviour(), True, "ready"),
    ("slow ready within the deadline", Behaviour(), Behaviour(ready_after=0.8), True, "ready"),
    (
        "old agent without debug socket",
        Behaviour(),
        Behaviour(no_debug_socket=True),
        True,
        "readiness-skipped",
    ),
    ("crash at start", Behaviour(), Behaviour(crash_at_start=True), False, "crash"),
    ("crash after start", Behaviour(), Behaviour(crash_at_readyz=1), False, "crash"),
    ("never ready", Behaviour(), Behaviour(never_ready=True), False, "not-ready"),
    ("ignores SIGHUP", Behaviour(ignore_sighup=True), Behaviour(), False, "pid-unchanged"),
]


@pytest.mark.parametrize(
    ("old", "new", "ok", "reason"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_health_after_reload(
    direct_agent: DirectAgent, old: Behaviour, new: Behaviour, ok: bool, reason: str
) -> None:
    before, check = reload_into(direct_agent, old, new)
    result = check.check(direct_agent.pid_file, direct_agent.data_dir / "debug.sock", before)
    assert result.ok is ok, result.message
    if reason == "crash":  # seen as a crash loop or as a dead agent, depending on timing
        assert result.reason in {"agent-crashing", "agent-not-running"}, result.message
    else:
        assert result.reason == reason, result.message
    if ok:
        assert result.pid != before
        assert result.pid == read_pid(direct_agent.pid_file)


def test_never_ready_message_says_what_readyz_answered(direct_agent: DirectAgent) -> None:
    before, check = reload_into(direct_agent, Behaviour(), Behaviour(never_ready=True))
    result = check.check(direct_agent.pid_file, direct_agent.data_dir / "debug.sock", before)
    assert "readyz answered 503" in result.message


# Under real supervisord: the service manager tells a dead agent from a slow one.
# The deadline is long on purpose: a crash at start must be seen well before it.
SUPERVISED = HealthConfig(poll_seconds=0.05, stable_polls=6, max_changes=2, timeout_seconds=30)


def reload_supervised(
    host: SandboxHost, new: Behaviour, *, autorestart: str = "true"
) -> tuple[Layout, Supervisord, int]:
    """Run 17.1.0 under supervisord, link 17.0.5 (``new``) and reload; return the PID before."""
    layout = host.add_agent(behaviours={"17.0.5": new})
    if autorestart != "true":
        host.supervisor.add_program(
            layout.unit_name,
            [
                str(layout.link_dir / "teleport"),
                "start",
                "--config",
                str(layout.agent_config),
                "--pid-file",
                str(layout.pid_file),
            ],
            autorestart=autorestart,
        )
        host.wait_healthy(layout)
    before = read_pid(layout.pid_file)
    assert before is not None
    service = Supervisord(host.supervisor.config_path)
    switch_links(
        layout.version_dir(Revision.of("17.0.5")) / "bin",
        layout.link_dir,
        versions_dir=layout.versions_dir,
    )
    assert service.reload(layout.unit_name).result is Reload.RELOADED
    return layout, service, before


@pytest.mark.parametrize(
    ("autorestart", "reasons"),
    [
        ("true", {"agent-crashing"}),  # supervisord restarts it: a crash loop
        ("false", {"agent-not-running"}),  # supervisord leaves it stopped
    ],
    ids=["restarted by the manager", "left stopped by the manager"],
)
def test_a_crash_at_start_fails_long_before_the_deadline(
    sandbox_host: SandboxHost, autorestart: str, reasons: set[str]
) -> None:
    layout, service, before = reload_supervised(
        sandbox_host, Behaviour(crash_at_start=True), autorestart=autorestart
    )
    result = HealthCheck(SUPERVISED).check(
        layout.pid_file, layout.debug_socket, before, service=service, unit=layout.unit_name
    )
    assert not result.ok
    assert result.reason in reasons, result.message
    assert result.elapsed < SUPERVISED.timeout_seconds / 3, result.elapsed


def test_a_good_version_passes_with_the_manager_watching(sandbox_host: SandboxHost) -> None:
    layout, service, before = reload_supervised(sandbox_host, Behaviour(ready_after=0.5))
    result = HealthCheck(SUPERVISED).check(
        layout.pid_file, layout.debug_socket, before, service=service, unit=layout.unit_name
    )
    assert (result.ok, result.reason) == (True, "ready"), result.message
    assert result.pid not in {None, before}
