"""What the tray shows, decided from the daemon's API answers. No Qt, no I/O.

    view = tray_view(api.get("/v1/agents")["agents"])   # icon state, tooltip, menu texts
    view = daemon_down_view("the Shepherd daemon is not running ...")
    notice = notification_for(event, settings)          # None: stay quiet

The tray, the fallback window and the tests all read the same ``TrayView``; the Qt side
only draws it. Icon states, worst first: daemon-down, error, attention, updating,
update-available, paused, unchecked, ok; "up to date" only when the cluster's offer is
installed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "HOLD_WORDS",
    "AgentView",
    "IconState",
    "Notice",
    "TrayView",
    "access_note",
    "agent_view",
    "daemon_down_view",
    "daemon_state_notice",
    "notification_for",
    "tray_view",
    "with_access",
]


class IconState(enum.Enum):
    OK = "ok"
    UNCHECKED = "unchecked"  # the daemon has not asked the cluster yet
    PAUSED = "paused"
    AVAILABLE = "update-available"  # offered, not installed yet (waiting for its moment)
    UPDATING = "updating"
    ATTENTION = "attention"
    ERROR = "error"
    DAEMON_DOWN = "daemon-down"

    @property
    def rank(self) -> int:
        return list(IconState).index(self)


_STATE_WORDS = {
    IconState.OK: "up to date",
    IconState.UNCHECKED: "not checked yet",
    IconState.PAUSED: "paused (pinned)",
    IconState.AVAILABLE: "update available",
    IconState.UPDATING: "working",
    IconState.ATTENTION: "needs attention",
    IconState.ERROR: "error",
    IconState.DAEMON_DOWN: "daemon not running",
}

# The daemon's offer.held_by codes, as the tray says them.
HOLD_WORDS = {
    "cluster-window": "waits for the cluster's update window",
    "local-window": "waits for this host's maintenance window",
    "blackout": "held by a local blackout",
    "canary": "waits for the canary agents",
    "pinned": "held: updates are paused (pinned)",
    "disabled": "held: updates are disabled",
    "remembered-bad": "remembered as bad here",
    "failed-here": "failed its health check here",
    "incompatible": "refused: not compatible with the cluster",
    "cluster-unreachable": "the cluster cannot be asked",
    "unhealthy-first-strike": "the agent looks unhealthy: updating at the next run",
    "updating": "installing now",
    "refused": "refused",
}


@dataclass(frozen=True)
class AgentView:
    """One managed agent as the menu and window show it."""

    name: str
    version: str  # the active revision, or "?" when unknown
    state: IconState
    headline: str  # "default — 17.1.0 · up to date"
    why: str  # the decision's message, or what is wrong
    pinned: bool
    enabled: bool
    busy: str | None
    can_rollback: bool
    backup: str | None
    progress_text: str | None
    kind: str = "v2"  # or "package"
    offered: str | None = None  # what the cluster offers, when not installed
    held_by: str | None = None  # the daemon's code for why it is not installed yet
    installs_at: str | None = None  # ISO 8601, when known
    allow_again: str | None = None  # a version remembered as bad (or failed) to allow again
    details: tuple[str, ...] = ()  # package, manager, version lock, last result...

    @property
    def pause_text(self) -> str:
        return "Resume updates" if self.pinned else "Pause updates (pin)"

    @property
    def can_update(self) -> bool:
        """ "Update now" can install something: an offer not held by a memory of failure."""
        return (
            self.busy is None
            and self.enabled
            and not self.pinned
            and self.held_by not in ("remembered-bad", "failed-here", "incompatible")
            and not (self.offered is not None and self.offered == self.allow_again)
        )


@dataclass(frozen=True)
class TrayView:
    state: IconState
    tooltip: str
    agents: tuple[AgentView, ...]
    daemon_message: str | None = None
    access: str | None = None  # what this user may not do without authenticating

    @property
    def daemon_up(self) -> bool:
        return self.state is not IconState.DAEMON_DOWN


@dataclass(frozen=True)
class Notice:
    """A desktop notification to raise."""

    title: str
    message: str
    level: str  # info, warning, error
    agent: str | None = None  # the agent it is about, when the daemon names one


def agent_view(status: Mapping[str, Any]) -> AgentView:
    """One agent's ``GET /v1/agents`` status -> what to show."""
    name = str(status.get("agent", "?"))
    version = str(status.get("active") or "?")
    decision = status.get("decision") or {}
    offer = _offer(status, decision)
    busy = status.get("busy") or None
    state, trouble = _agent_state(status, decision, offer)
    why = trouble or str(offer.get("why") or decision.get("message") or "not checked yet")
    progress_text = _progress_text(status.get("progress")) if busy else None
    offered = str(offer["target"]) if offer.get("target") and not offer.get("installed") else None
    words = f"{busy}…" if busy else _STATE_WORDS[state]
    if state is IconState.AVAILABLE and offered:
        words = f"{offered} available"
    elif state is IconState.PAUSED and offered:
        words = f"paused (pinned) · {offered} offered"
    backup = str(status.get("backup") or "") or None
    return AgentView(
        name=name,
        version=version,
        state=state,
        headline=f"{name} — {version} · {words}",
        why=why,
        pinned=bool(status.get("pinned")),
        enabled=status.get("enabled") is not False,
        busy=str(busy) if busy else None,
        can_rollback=bool(backup)
        and bool(status.get("backup_installed", True))
        and not busy
        and not status.get("rollback_refused")
        and backup not in _failed_revisions(status),
        backup=backup,
        progress_text=progress_text,
        kind=str(status.get("kind") or "v2"),
        offered=offered,
        held_by=str(offer["held_by"]) if offer.get("held_by") else None,
        installs_at=str(offer["installs_at"]) if offer.get("installs_at") else None,
        allow_again=_allow_again(status, offer),
        details=_details(status),
    )


def _offer(status: Mapping[str, Any], decision: Mapping[str, Any]) -> Mapping[str, Any]:
    """The daemon's offer; from the decision alone for an older daemon."""
    offer = status.get("offer")
    if isinstance(offer, Mapping):
        return offer
    target = decision.get("target")
    if not decision or not target:
        return {}
    installed = target == status.get("active")
    return {"target": target, "installed": installed, "why": decision.get("message")}


def _failed_revisions(status: Mapping[str, Any]) -> set[str]:
    """Revisions that must not be offered as a rollback: remembered as bad, the skipped
    one, and the target of the update that failed last."""
    failed = {str(r) for r in status.get("bad") or {}}
    if status.get("skip"):
        failed.add(str(status["skip"]))
    last = status.get("last_update") or {}
    if last.get("success") is False and last.get("target"):
        failed.add(str(last["target"]))
    return failed


def _allow_again(status: Mapping[str, Any], offer: Mapping[str, Any]) -> str | None:
    if offer.get("held_by") in ("remembered-bad", "failed-here") and offer.get("target"):
        return str(offer["target"])
    bad = sorted(str(r) for r in status.get("bad") or {})
    return bad[0] if bad else (str(status["skip"]) if status.get("skip") else None)


def _details(status: Mapping[str, Any]) -> tuple[str, ...]:
    lines = []
    if status.get("kind") == "package":
        locked = status.get("locked")
        lock = "" if locked is None else "version held" if locked else "version not held"
        lines.append(
            f"package {status.get('package')} {status.get('version')} "
            f"({status.get('manager')}{', ' + lock if lock else ''})"
        )
        if not status.get("repository"):
            lines.append("no package repository set: it is not updated")
    result = status.get("last_result") or {}
    if result.get("message"):
        lines.append(f"last result: {'ok' if result.get('ok') else 'failed'} — {result['message']}")
    return tuple(lines)


def _agent_state(
    status: Mapping[str, Any], decision: Mapping[str, Any], offer: Mapping[str, Any]
) -> tuple[IconState, str | None]:
    health = status.get("health") or {}
    problems = [str(p) for p in status.get("problems") or []]
    last_result = status.get("last_result") or {}
    bad = status.get("bad") or {}
    if status.get("busy"):
        return IconState.UPDATING, None
    if problems:
        return IconState.ERROR, problems[0]
    if health.get("running") is False:
        return IconState.ERROR, "the agent is not running"
    if decision.get("action") == "error":
        return IconState.ERROR, str(decision.get("message") or "the last check failed")
    if last_result and last_result.get("ok") is False:
        return IconState.ATTENTION, str(last_result.get("message") or "the last update failed")
    if health.get("ready") is False:
        return IconState.ATTENTION, "the agent is running but not ready"
    if status.get("enabled") is False:
        return IconState.ATTENTION, "updates are disabled for this agent"
    held = offer.get("held_by")
    if held == "cluster-unreachable" or decision.get("reason") == "cluster-unreachable":
        return IconState.ATTENTION, str(
            offer.get("cluster_problem") or decision.get("message") or "the cluster cannot be asked"
        )
    offered = offer.get("target") if not offer.get("installed") else None
    if held in ("remembered-bad", "failed-here") or (bad and (not offered or offered in bad)):
        versions = ", ".join(sorted(bad)) or str(offered)
        return IconState.ATTENTION, f"{versions} remembered as bad; Allow again to retry it"
    if status.get("pinned"):
        return IconState.PAUSED, None
    if not decision and not offer:
        return IconState.UNCHECKED, None
    if offered:
        return IconState.AVAILABLE, _waiting_text(offer)
    return IconState.OK, None


def _waiting_text(offer: Mapping[str, Any]) -> str:
    """The daemon's sentence; the hold in words when it sent none."""
    hold = HOLD_WORDS.get(str(offer.get("held_by")), "")
    return str(offer.get("why") or f"{offer.get('target')} {hold}".strip())


def _progress_text(progress: object) -> str | None:
    if not isinstance(progress, Mapping):
        return None
    done = progress.get("bytes_done")
    total = progress.get("bytes_total")
    if isinstance(done, int) and isinstance(total, int) and total > 0:
        return f"downloading {100 * done // total}% of {total / 1e6:.1f} MB"
    if isinstance(done, int):
        return f"downloaded {done / 1e6:.1f} MB"
    return None


def tray_view(agents: Sequence[Mapping[str, Any]]) -> TrayView:
    """``GET /v1/agents``'s list -> the tray's state and tooltip (the worst agent wins)."""
    views = tuple(agent_view(a) for a in agents)
    if not views:
        return TrayView(IconState.ATTENTION, "Shepherd: no managed agents", views)
    state = max((v.state for v in views), key=lambda s: s.rank)
    lines = [f"{v.headline}\n  {v.progress_text or v.why}" for v in views]
    return TrayView(state, "Shepherd\n" + "\n".join(lines), views)


def daemon_down_view(message: str) -> TrayView:
    return TrayView(
        IconState.DAEMON_DOWN,
        f"Shepherd: the daemon is not answering\n{message}",
        (),
        daemon_message=message,
    )


# ---- notifications -----------------------------------------------------------------------

# The daemon's notification titles -> the setting that lets the admin silence them.
_TITLE_SETTING = {
    "Agent updated": "notifications.on_update",
    "Update failed": "notifications.on_failure",
    "Update blocked": "notifications.on_failure",
    "Rollback failed": "notifications.on_failure",
    "Rolled back": "notifications.on_rollback",
    "Interrupted update repaired": "notifications.on_rollback",
}


def notification_for(event: Mapping[str, Any], host_settings: Mapping[str, Any]) -> Notice | None:
    """A ``notification`` event from ``/v1/events`` -> a Notice, or None when the admin
    switched that kind off (``notifications.on_update`` / ``on_failure`` / ``on_rollback``
    in the settings' ``host`` table; absent means on). Other event types never notify."""
    if event.get("type") != "notification":
        return None
    title = str(event.get("title") or "Shepherd")
    setting = _TITLE_SETTING.get(title)
    if setting is not None and host_settings.get(setting) is False:
        return None
    agent = event.get("agent")
    prefix = f"{agent}: " if agent else ""
    return Notice(
        title=title,
        message=prefix + str(event.get("message") or ""),
        level=str(event.get("level") or "info"),
        agent=str(agent) if agent else None,
    )


def daemon_state_notice(before: TrayView | None, after: TrayView) -> Notice | None:
    """Notify when the daemon goes away or comes back, not on every poll."""
    if before is None or before.daemon_up == after.daemon_up:
        return None
    if not after.daemon_up:
        return Notice(
            "Shepherd daemon stopped",
            after.daemon_message or "the daemon is not answering",
            "error",
        )
    return Notice("Shepherd daemon is back", "agents are managed again", "info")


# ---- who may act ------------------------------------------------------------------------


def access_note(hello: Mapping[str, Any]) -> str | None:
    """``GET /v1``'s ``you`` -> what the tray tells a user who may read but not act without
    authenticating; None when they may operate (or the daemon does not say)."""
    you = hello.get("you")
    may = you.get("may") if isinstance(you, Mapping) else None
    if not isinstance(may, Mapping) or may.get("operate") is not False:
        return None
    group = str(you.get("group") or "shepherd") if isinstance(you, Mapping) else "shepherd"
    return (
        "Read-only for you: Check now, Update, Roll back and Pause need the "
        f"'{group}' group or an administrator's password (asked when you act)"
    )


def with_access(view: TrayView, note: str | None) -> TrayView:
    """The view with the access note in its tooltip (the daemon answers: only when up)."""
    if note is None or not view.daemon_up:
        return view
    return replace(view, tooltip=f"{view.tooltip}\n{note}", access=note)
