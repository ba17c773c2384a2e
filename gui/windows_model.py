"""The maintenance-window editor's rows, without Qt: the settings text of a ``windows``
field (as the daemon parses it: ``mon,wed 02:00 2h Europe/Berlin; sat 02:00 1h UTC``) to
rows and back. The daemon checks what is saved; this only splits and joins."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DAYS", "WindowRow", "parse_windows", "windows_text"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"daily": DAYS, "everyday": DAYS, "weekdays": DAYS[:5], "weekends": DAYS[5:]}


@dataclass(frozen=True)
class WindowRow:
    days: tuple[str, ...]  # in DAYS order; all seven: every day
    start: str  # "HH:MM"
    duration: str  # as typed: "2h", "90m", "1h30m"
    timezone: str | None  # None: the daemon's default (UTC)

    def text(self) -> str:
        days = "daily" if set(self.days) == set(DAYS) else ",".join(self.days)
        words = [days, self.start, self.duration]
        if self.timezone:
            words.append(self.timezone)
        return " ".join(words)


def parse_windows(text: str) -> list[WindowRow]:
    """The rows of a windows field's text; a part the editor cannot split is kept as a row
    with what it could read (the daemon names the mistake when it is saved)."""
    rows = []
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        words = part.split()
        chosen: set[str] = set()
        for word in (words[0].lower() if words else "").split(","):
            chosen |= set(_GROUPS.get(word.strip(), (word.strip()[:3],)))
        days = tuple(d for d in DAYS if d in chosen)
        rows.append(
            WindowRow(
                days=days,
                start=words[1] if len(words) > 1 else "00:00",
                duration=words[2] if len(words) > 2 else "1h",
                timezone=words[3] if len(words) > 3 else None,
            )
        )
    return rows


def windows_text(rows: list[WindowRow]) -> str:
    return "; ".join(row.text() for row in rows if row.days)
