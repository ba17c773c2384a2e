"""The history window's rows, without Qt: ``GET /v1/history`` records -> what each row says.

    rows = history_rows(records, now=datetime.now(UTC), tz=None, names=user_name)

Times are relative and local ("5 min ago", "yesterday 14:02"), with the full local time
and zone for the tooltip; who asked is a user name ("root", "alice"), or "Shepherd" when
the daemon acted by itself; the kind says what happened in words, so a pause and a resume,
an update and a rollback, a success and a refusal are told apart at a glance. Pure: the
clock, the time zone and the uid -> name lookup are parameters.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

__all__ = ["HistoryRow", "export_csv", "export_json", "history_rows", "kind_text", "when_text"]


@dataclass(frozen=True)
class HistoryRow:
    when: str  # "5 min ago"
    when_full: str  # "2026-12-01 14:02:11 CET"
    agent: str
    kind: str  # "Paused (pinned)", "Update", "Rollback", ...
    result: str  # "succeeded", "failed", ...
    versions: str  # "17.1.0 → 17.2.1"
    message: str
    by: str  # "root", "alice", "Shepherd"
    tone: str  # "good", "bad", "neutral": how the row is coloured
    record: Mapping[str, Any]


_SPEC_WORDS = {
    ("pinned", True): "Paused (pinned)",
    ("pinned", False): "Resumed (unpinned)",
    ("enabled", True): "Updates enabled",
    ("enabled", False): "Updates disabled",
}

_EVENT_WORDS = {
    "update": "Update",
    "rollback": "Rollback",
    "check": "Check",
    "repair": "Repair",
    "settings": "Settings changed",
    "secret": "Secret changed",
    "clear-bad": "Allowed again (cleared bad)",
    "adopt": "Adopted",
    "remove": "No longer managed",
}

_GOOD = frozenset({"succeeded", "changed", "updated", "rolled-back", "cleared"})
_BAD = frozenset({"failed", "refused", "error", "blocked"})


def kind_text(record: Mapping[str, Any]) -> str:
    """What happened, in words; a spec change says which (pause / resume / enable ...)."""
    event = str(record.get("event") or "?")
    extra = record.get("extra")
    spec = extra.get("spec") if isinstance(extra, Mapping) else None
    if isinstance(spec, Mapping) and len(spec) == 1:
        ((key, value),) = spec.items()
        if (key, value) in _SPEC_WORDS:
            return _SPEC_WORDS[(key, value)]
    return _EVENT_WORDS.get(event, event.replace("-", " ").capitalize())


def when_text(moment: datetime, now: datetime, tz: tzinfo | None = None) -> tuple[str, str]:
    """(relative local text, full local time with its zone) of an aware ``moment``."""
    local, local_now = moment.astimezone(tz), now.astimezone(tz)
    full = local.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
    age = now - moment
    if age < timedelta(seconds=-60):
        return local.strftime("%Y-%m-%d %H:%M"), full  # a clock ahead: say it plainly
    if age < timedelta(minutes=1):
        return "just now", full
    if age < timedelta(hours=1):
        return f"{int(age.total_seconds() // 60)} min ago", full
    days = (local_now.date() - local.date()).days
    if days == 0:
        return f"today {local:%H:%M}", full
    if days == 1:
        return f"yesterday {local:%H:%M}", full
    if days < 7:
        return f"{local:%a %H:%M}", full
    return f"{local:%Y-%m-%d %H:%M}", full


def history_rows(
    records: Iterable[Mapping[str, Any]],
    *,
    now: datetime,
    names: Callable[[int], str],
    tz: tzinfo | None = None,
) -> list[HistoryRow]:
    """The records (newest first, as the daemon answers) as rows; ``names`` turns a uid
    into a user name (the caller decides what an unknown uid is called)."""
    rows = []
    for record in records:
        try:
            moment = datetime.fromisoformat(str(record.get("time")))
        except ValueError:
            when = full = str(record.get("time") or "?")
        else:
            when, full = when_text(moment, now, tz)
        uid = record.get("uid")
        outcome = str(record.get("outcome") or "")
        before, after = record.get("from_revision"), record.get("to_revision")
        versions = " → ".join(str(v) for v in (before, after) if v)
        rows.append(
            HistoryRow(
                when=when,
                when_full=full,
                agent=str(record.get("agent") or ""),
                kind=kind_text(record),
                result=outcome,
                versions=versions,
                message=str(record.get("message") or ""),
                by=names(uid) if isinstance(uid, int) else "Shepherd",
                tone="good" if outcome in _GOOD else "bad" if outcome in _BAD else "neutral",
                record=record,
            )
        )
    return rows


_CSV_COLUMNS = ("time", "agent", "kind", "outcome", "from", "to", "reason", "message", "by")


def export_csv(rows: Sequence[HistoryRow]) -> str:
    """The rows as CSV with the daemon's own times (UTC, ISO 8601) and stable codes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_CSV_COLUMNS)
    for row in rows:
        r = row.record
        writer.writerow(
            [
                r.get("time"),
                row.agent,
                row.kind,
                row.result,
                r.get("from_revision") or "",
                r.get("to_revision") or "",
                r.get("reason") or "",
                row.message,
                row.by,
            ]
        )
    return out.getvalue()


def export_json(rows: Sequence[HistoryRow]) -> str:
    """The records as the daemon sent them, one JSON object a line, with ``by`` added."""
    return "".join(json.dumps({**row.record, "by": row.by}) + "\n" for row in rows)
