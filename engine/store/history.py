"""Per-agent history: every decision that changed something and every failure.

Records are JSON lines appended to ``history.jsonl`` in the agent's Shepherd state dir.
When the file passes ``max_bytes`` it is rotated (``history.jsonl`` -> ``history.1.jsonl``
...), keeping ``keep`` old files, so the history is bounded but survives restarts.
A torn last line (power loss mid-append) is skipped on read, never fatal. Queries read the
files from their end, newest first, and stop once the page is full: the newest records
cost the same however long the history is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["History", "HistoryRecord"]

_FILE = "history.jsonl"
_MAX_LINE = 64 * 1024
_READ_BLOCK = 64 * 1024


@dataclass(frozen=True)
class HistoryRecord:
    """One event. ``reason`` is a stable code; ``message`` the human sentence."""

    time: str
    agent: str
    event: str  # e.g. update, rollback, pin, settings, check
    outcome: str  # succeeded, failed, changed, refused, ...
    reason: str
    message: str
    from_revision: str | None = None
    to_revision: str | None = None
    uid: int | None = None  # who asked (peer uid); None for the daemon itself
    duration_seconds: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def now(cls, **values: Any) -> HistoryRecord:
        return cls(time=datetime.now(UTC).isoformat(timespec="seconds"), **values)


class History:
    """Append-only, rotated history of one agent."""

    def __init__(self, directory: Path, *, max_bytes: int = 1 << 20, keep: int = 5) -> None:
        self._dir = directory
        self._max_bytes = max_bytes
        self._keep = keep
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self._dir / _FILE

    def record(self, entry: HistoryRecord) -> None:
        line = json.dumps(asdict(entry), separators=(",", ":"), sort_keys=True) + "\n"
        data = line.encode("utf-8")[:_MAX_LINE]
        with self._lock:
            self._dir.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size + len(data) > self._max_bytes:
                self._rotate()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # end a torn last line so this record stays whole
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def _rotate(self) -> None:
        oldest = self._dir / f"history.{self._keep}.jsonl"
        oldest.unlink(missing_ok=True)
        for index in range(self._keep - 1, 0, -1):
            older = self._dir / f"history.{index}.jsonl"
            if older.exists():
                older.replace(self._dir / f"history.{index + 1}.jsonl")
        self.path.replace(self._dir / "history.1.jsonl")

    def _files_oldest_first(self) -> list[Path]:
        rotated = [self._dir / f"history.{i}.jsonl" for i in range(self._keep, 0, -1)]
        return [p for p in [*rotated, self.path] if p.exists()]

    def _records_newest_first(self) -> Iterator[HistoryRecord]:
        names = {f.name for f in fields(HistoryRecord)}
        for path in reversed(self._files_oldest_first()):
            for line in _lines_from_the_end(path):
                try:
                    data = json.loads(line.decode("utf-8", errors="replace"))
                except json.JSONDecodeError:
                    continue
                if isinstance(data, dict) and names.issuperset(data) and "time" in data:
                    try:
                        yield HistoryRecord(**data)
                    except TypeError:
                        continue

    def query(
        self,
        *,
        event: str | None = None,
        outcome: str | None = None,
        since: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[HistoryRecord]:
        """Newest first, filtered, paged. Blocking: reads files (run it off an event loop)."""
        wanted = offset + limit
        matching: list[HistoryRecord] = []
        with self._lock:
            for record in self._records_newest_first():
                if len(matching) >= wanted:
                    break
                if (
                    (event is None or record.event == event)
                    and (outcome is None or record.outcome == outcome)
                    and (since is None or record.time >= since)
                ):
                    matching.append(record)
        return matching[offset:wanted]

    def export_json(self) -> str:
        return json.dumps([asdict(r) for r in self.query(limit=1 << 30)], indent=2)

    def export_csv(self) -> str:
        out = io.StringIO()
        columns = [f.name for f in fields(HistoryRecord)]
        writer = csv.DictWriter(out, fieldnames=columns)
        writer.writeheader()
        for record in self.query(limit=1 << 30):
            row = asdict(record)
            row["extra"] = json.dumps(row["extra"], sort_keys=True) if row["extra"] else ""
            writer.writerow(row)
        return out.getvalue()


def _lines_from_the_end(path: Path, block_size: int = _READ_BLOCK) -> Iterator[bytes]:
    """The file's non-empty lines, last first, read backwards in blocks."""
    try:
        stream = path.open("rb")
    except FileNotFoundError:
        return
    with stream:
        position = stream.seek(0, os.SEEK_END)
        partial = b""
        while position > 0:
            size = min(block_size, position)
            position -= size
            stream.seek(position)
            lines = (stream.read(size) + partial).split(b"\n")
            partial = lines[0]  # may continue in the block before
            for line in reversed(lines[1:]):
                if line.strip():
                    yield line
        if partial.strip():
            yield partial
