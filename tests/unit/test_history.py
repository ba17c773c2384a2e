from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from engine.store.history import History, HistoryRecord


def event(n: int, **changes: object) -> HistoryRecord:
    values: dict[str, object] = {
        "agent": "default",
        "event": "update",
        "outcome": "succeeded",
        "reason": "update-in-window",
        "message": f"updated #{n}",
        "from_revision": "17.1.0",
        "to_revision": "17.2.1",
        "uid": 1000,
    } | changes
    return HistoryRecord(time=f"2026-11-24T10:{n:02d}:00+00:00", **values)  # type: ignore[arg-type]


def test_records_survive_a_restart_newest_first(tmp_path: Path) -> None:
    History(tmp_path).record(event(1))
    History(tmp_path).record(event(2, outcome="failed", reason="health-check-failed"))
    records = History(tmp_path).query()
    assert [r.message for r in records] == ["updated #2", "updated #1"]
    assert records[0].uid == 1000


def test_filters_and_paging(tmp_path: Path) -> None:
    history = History(tmp_path)
    for n in range(10):
        history.record(event(n, outcome="failed" if n % 3 == 0 else "succeeded"))
    assert [r.message for r in history.query(outcome="failed")] == [
        "updated #9",
        "updated #6",
        "updated #3",
        "updated #0",
    ]
    assert [r.message for r in history.query(offset=2, limit=2)] == ["updated #7", "updated #6"]
    assert len(history.query(since="2026-11-24T10:05:00+00:00")) == 5


def test_rotation_bounds_the_size_and_keeps_the_newest(tmp_path: Path) -> None:
    history = History(tmp_path, max_bytes=2000, keep=2)
    for n in range(60):
        history.record(event(n))
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total <= 3 * 2000
    newest = history.query(limit=1)[0]
    assert newest.message == "updated #59"
    assert len(list(tmp_path.iterdir())) == 3


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record(event(1))
    with history.path.open("a") as stream:
        stream.write('{"time": "2026-11-24T11:00:00+00:00", "agent": "def')
    assert [r.message for r in history.query()] == ["updated #1"]
    history.record(event(2))  # appends after the torn line, still readable
    assert next(r.message for r in history.query()) == "updated #2"


def test_exports(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record(event(1, extra={"bytes": 5}))
    exported = json.loads(history.export_json())
    assert exported[0]["to_revision"] == "17.2.1"
    rows = list(csv.DictReader(io.StringIO(history.export_csv())))
    assert rows[0]["reason"] == "update-in-window"
    assert json.loads(rows[0]["extra"]) == {"bytes": 5}
