"""Host-local canary: with several agents on a host, some update first and soak.

The admin names an order of canary namespaces (e.g. ``staging``) and a soak period. Before
any other agent updates to a version, every canary must already run that version, be
healthy, and have run it for the soak period. A canary that failed the version (its
``skip``, or remembered as bad) halts the rest and says so. Canaries themselves go in
order: the second waits for the first.

Healthy means a live PID whose ``/readyz`` answers for it at some probe within a short
``HealthWindow``, not at one instant: a canary caught re-executing (a reload, the restart
after a rolled-back version) or answering slowly under load is not a verdict, while one that
stays down for the whole window still holds the others. The window is only waited out when
the first probe fails, and only for a canary already on the target version.

The gate is stateless: it reads each canary's ``update.yaml`` and probes its health, so
independent poll loops (one per agent) need no coordination beyond the files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from engine.clock import SYSTEM_CLOCK, Clock
from engine.policy.decision import Action, Decision, Reason
from engine.service.health import read_pid, readyz
from engine.store.agent_record import load_agent_record
from engine.store.layout import Layout
from engine.store.update_yaml import load_config
from engine.versions import Revision

__all__ = ["DEFAULT_HEALTH_WINDOW", "CanaryGate", "CanaryStatus", "HealthWindow", "canary_status"]


@dataclass(frozen=True)
class HealthWindow:
    """How long a canary that fails a health probe is watched before it counts as unhealthy."""

    seconds: float = 20.0
    probe_every: float = 0.5


DEFAULT_HEALTH_WINDOW = HealthWindow()


@dataclass(frozen=True)
class CanaryStatus:
    namespace: str
    active: Revision | None
    failed: frozenset[Revision]  # skip + remembered as bad
    updated_at: datetime | None  # when ``active`` was last installed successfully
    healthy: Callable[[], bool]  # probes; may take up to ``window.seconds``, so asked last
    held: str = ""  # why the canary itself will not move: "pinned", "disabled", ""
    window: HealthWindow = DEFAULT_HEALTH_WINDOW


def canary_status(
    layout: Layout,
    *,
    window: HealthWindow = DEFAULT_HEALTH_WINDOW,
    clock: Clock | None = None,
) -> CanaryStatus:
    """Read a canary's state from its files; its ``healthy()`` probes process and readiness
    until one probe succeeds or ``window`` has passed."""
    config = load_config(layout.update_yaml)
    if config is None:
        return CanaryStatus(
            layout.namespace, None, frozenset(), None, lambda: False, "not managed", window
        )
    status = config.status
    state = load_agent_record(layout.state_dir)
    failed = set(state.bad_revisions())
    if status.skip is not None:
        failed.add(status.skip)
    last = status.last_update
    # Shepherd's own record first: a later failed attempt overwrites last_update.
    updated_at = state.active_since_for(status.active) or (
        last.time if last is not None and last.success and last.target == status.active else None
    )
    held = "disabled" if not config.spec.enabled else "pinned" if config.spec.pinned else ""
    watch = clock or SYSTEM_CLOCK
    return CanaryStatus(
        layout.namespace,
        status.active,
        frozenset(failed),
        updated_at,
        lambda: _healthy_within(layout, window, watch),
        held,
        window,
    )


def _healthy_within(layout: Layout, window: HealthWindow, clock: Clock) -> bool:
    deadline = clock.monotonic() + window.seconds
    while not _healthy_now(layout):
        if clock.monotonic() >= deadline:
            return False
        clock.sleep(window.probe_every)
    return True


def _healthy_now(layout: Layout) -> bool:
    pid = read_pid(layout.pid_file)
    if pid is None:
        return False
    if not layout.debug_socket.exists():
        return True  # older agents have no readiness endpoint; a live PID is all we know
    try:
        code, body = readyz(layout.debug_socket, 2.0)
    except OSError:
        return False
    return code == 200 and body is not None and body.get("pid") == pid


class CanaryGate:
    """Holds an agent's update until the canaries before it ran the version for ``soak``."""

    def __init__(
        self,
        canaries: Sequence[str],
        soak: timedelta,
        status: Callable[[str], CanaryStatus],
    ) -> None:
        self.canaries = list(canaries)
        self.soak = soak
        self.status = status

    def hold(self, namespace: str, target: Revision, now: datetime) -> Decision | None:
        """None when ``namespace`` may update to ``target`` now; else why it waits."""
        ahead = (
            self.canaries[: self.canaries.index(namespace)]
            if namespace in self.canaries
            else self.canaries
        )
        for canary in ahead:
            held = self._check(self.status(canary), target, now)
            if held is not None:
                return held
        return None

    def _check(self, canary: CanaryStatus, target: Revision, now: datetime) -> Decision | None:
        version = target.version
        name = canary.namespace
        if any(r.version == version for r in canary.failed):
            return Decision(
                Action.NOTHING,
                Reason.CANARY_FAILED,
                f"Canary agent {name!r} failed version {version} on this host: updates of "
                "the other agents to it are halted until the cluster offers another version "
                "or an admin clears it.",
                target=target,
            )
        if canary.active is None or canary.active.version != version:
            why = f" (it is {canary.held})" if canary.held else ""
            return Decision(
                Action.WAIT,
                Reason.CANARY_PENDING,
                f"Waiting for canary agent {name!r} to update to {version} first{why}.",
                target=target,
            )
        if not canary.healthy():
            return Decision(
                Action.WAIT,
                Reason.CANARY_PENDING,
                f"Canary agent {name!r} runs {version} but was not running and ready at any "
                f"probe for {canary.window.seconds:g} s: holding the other agents.",
                target=target,
            )
        if canary.updated_at is None:
            return None  # installed before we kept records: running and healthy is enough
        ready_at = canary.updated_at + self.soak
        if now < ready_at:
            return Decision(
                Action.WAIT,
                Reason.CANARY_SOAKING,
                f"Canary agent {name!r} runs {version}; the others follow after a soak of "
                f"{_duration(self.soak)}, at {ready_at.astimezone(UTC):%Y-%m-%d %H:%M UTC}.",
                target=target,
                next_check=ready_at,
            )
        return None


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
