"""What the tray says back when the admin acts, and what the update prompt offers. No Qt.

notice = acknowledgement("pause:default", answer)     # None: the daemon announces it
notice = refusal("rollback:default", api_error)       # the daemon's reason, verbatim
offer = update_offer(agent_view)                      # the prompt's version, notes, when
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from engine.api.client import ApiError
from gui.viewmodel import HOLD_WORDS, AgentView, Notice

__all__ = [
    "UpdateChoice",
    "UpdateOffer",
    "acknowledgement",
    "answer_text",
    "local_time_text",
    "refusal",
    "release_notes_url",
    "update_offer",
    "update_offer_for",
]

_VERBS = {
    "check": "Check",
    "update": "Update",
    "pause": "Pause",
    "allow": "Allow again",
    "skip": "Skip",
    "rollback": "Rollback",
}
RELEASE_NOTES = "https://github.com/gravitational/teleport/releases/tag/v{version}"


class UpdateChoice(enum.Enum):
    NOW = "now"
    AT_WINDOW = "at-window"
    SKIP = "skip"


@dataclass(frozen=True)
class UpdateOffer:
    """What the update prompt shows for one agent."""

    agent: str
    version: str | None  # the offered revision; None: whatever the cluster targets now
    current: str
    when_text: str  # when it installs by itself
    notes_url: str | None

    @property
    def title(self) -> str:
        return f"Update {self.agent} to {self.version}" if self.version else f"Update {self.agent}"


def release_notes_url(revision: str) -> str:
    """Teleport's release notes for a revision such as ``17.2.1_ent``."""
    return RELEASE_NOTES.format(version=revision.split("_", 1)[0])


def local_time_text(iso: str, tz: tzinfo | None = None) -> str:
    """An ISO 8601 time in ``tz`` (the desktop's zone by default), zone named:
    ``Tue 1 Dec 14:00 CET``."""
    moment = datetime.fromisoformat(iso).astimezone(tz)
    return f"{moment:%a} {moment.day} {moment:%b %H:%M %Z}"


def update_offer(agent: AgentView) -> UpdateOffer:
    if agent.installs_at:
        when = f"It installs by itself {local_time_text(agent.installs_at)}."
    elif agent.held_by == "cluster-window":
        when = "It installs by itself when the cluster opens its update window."
    elif agent.held_by:
        when = f"It {HOLD_WORDS.get(agent.held_by, agent.held_by)}."
    else:
        when = "It installs at the next window the cluster and this host allow."
    notes = release_notes_url(agent.offered) if agent.offered else None
    return UpdateOffer(agent.name, agent.offered, agent.version, when, notes)


def update_offer_for(name: str) -> UpdateOffer:
    return UpdateOffer(name, None, "?", "It installs at the next window.", None)


def acknowledgement(key: str, answer: object) -> Notice | None:
    """The notice that says an action was done; None when the daemon announces it itself
    (an update or rollback that ran raises the daemon's own notification)."""
    kind, _, agent = key.partition(":")
    data: Mapping[str, object] = answer if isinstance(answer, Mapping) else {}
    decision = data.get("decision")
    said = str(decision.get("message") or "") if isinstance(decision, Mapping) else ""
    if kind == "check":
        return Notice("Checked", f"{agent}: {said or 'checked'}", "info")
    if kind == "update":
        if data.get("outcome") is not None:
            return None
        return Notice("Update not started", f"{agent}: {said or 'nothing to do'}", "info")
    if kind == "pause":
        pinned = data.get("pinned")
        title = "Updates paused" if pinned else "Updates resumed"
        what = "is not updated until resumed" if pinned else "is updated again when allowed"
        return Notice(title, f"{agent} {what}", "info")
    if kind == "allow":
        return Notice(
            "Allowed again", f"{agent}: {data.get('version')} may be installed again", "info"
        )
    if kind == "skip":
        return Notice(
            "Version skipped",
            f"{agent}: {data.get('revision')} is not installed until allowed again",
            "info",
        )
    return None


def refusal(key: str, error: Exception) -> Notice:
    """A refused or failed action, with the daemon's own reason."""
    kind, _, agent = key.partition(":")
    verb = _VERBS.get(kind, kind.capitalize())
    prefix = f"{agent}: " if agent else ""
    if isinstance(error, ApiError):
        return Notice(f"{verb} refused", prefix + error.message, "warning")
    return Notice(f"{verb} failed", prefix + str(error), "error")


def answer_text(answer: object) -> str:
    """The message in a daemon's answer to an action (its outcome's, else its decision's)."""
    if isinstance(answer, dict):
        outcome = answer.get("outcome")
        if isinstance(outcome, dict):
            return str(outcome.get("message") or "")
        decision = answer.get("decision")
        if isinstance(decision, dict):
            return str(decision.get("message") or "")
        if "message" in answer:
            return str(answer["message"])
    return "done"
