"""What the tray shows, decided from the daemon's API answers. No Qt, no I/O.

    view = tray_view(api.get("/v1/agents")["agents"])   # icon state, tooltip, menu texts
    view = daemon_down_view("the Shepherd daemon is not running ...")
    notice = notification_for(event, settings)          # None: stay quiet

The tray, the fallback window and the tests all read the same ``TrayView``; the Qt side
only draws it. Icon states, worst first: daemon-down, error, attention, updating, ok.
"""

from __future__ import annotations

import enum
import importlib.metadata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "AgentView",
    "IconState",
    "Notice",
    "TrayView",
    "about_text",
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
    UPDATING = "updating"
    ATTENTION = "attention"
    ERROR = "error"
    DAEMON_DOWN = "daemon-down"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    IconState.OK: 0,
    IconState.UPDATING: 1,
    IconState.ATTENTION: 2,
    IconState.ERROR: 3,
    IconState.DAEMON_DOWN: 4,
}

_STATE_WORDS = {
    IconState.OK: "up to date",
    IconState.UPDATING: "working",
    IconState.ATTENTION: "needs attention",
    IconState.ERROR: "error",
    IconState.DAEMON_DOWN: "daemon not running",
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

    @property
    def pause_text(self) -> str:
        return "Resume updates" if self.pinned else "Pause updates (pin)"


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


def agent_view(status: Mapping[str, Any]) -> AgentView:
    """One agent's ``GET /v1/agents`` status -> what to show."""
    name = str(status.get("agent", "?"))
    version = str(status.get("active") or "?")
    decision = status.get("decision") or {}
    health = status.get("health") or {}
    busy = status.get("busy") or None
    problems = [str(p) for p in status.get("problems") or []]
    last_result = status.get("last_result") or {}
    bad = status.get("bad") or {}
    state, trouble = _agent_state(status, decision, health, problems, last_result, bad)
    why = trouble or str(decision.get("message") or "not checked yet")
    progress_text = _progress_text(status.get("progress")) if busy else None
    words = f"{busy}…" if busy else _STATE_WORDS[state]
    if state is IconState.OK and status.get("pinned"):
        words = "paused (pinned)"
    backup = status.get("backup")
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
        and not status.get("rollback_refused")
        and not busy,
        backup=str(backup) if backup else None,
        progress_text=progress_text,
    )


def _agent_state(
    status: Mapping[str, Any],
    decision: Mapping[str, Any],
    health: Mapping[str, Any],
    problems: Sequence[str],
    last_result: Mapping[str, Any],
    bad: Mapping[str, Any],
) -> tuple[IconState, str | None]:
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
    if bad:
        versions = ", ".join(sorted(bad))
        return IconState.ATTENTION, f"{versions} remembered as bad; clear it to allow it again"
    return IconState.OK, None


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


def about_text(hello: Mapping[str, Any] | None, log_path: object = None) -> str:
    """The About box: what Shepherd is, the tray's version, the daemon's (``GET /v1``'s
    ``version`` when the daemon says it), and where the tray logs."""
    lines = [
        "Agent Shepherd keeps this host's Teleport agents on the version their cluster "
        "wants, when it is safe, and rolls a bad update back.",
        f"Tray {_tray_version()}",
    ]
    if hello is None:
        lines.append("Daemon: not reachable")
    else:
        version = hello.get("version")
        lines.append(f"Daemon {version}" if version else "Daemon: running (version not given)")
    if log_path is not None:
        lines.append(f"Log: {log_path}")
    return "\n".join(lines)


def _tray_version() -> str:
    try:
        return importlib.metadata.version("agent-shepherd")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown)"
