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


def everything_oldest_first(directory: Path) -> list[str]:
    """What a forward read of every file gives (the reference for the backward read)."""
    files = sorted(directory.glob("history.*.jsonl"), key=lambda p: -int(p.name.split(".")[1]))
    messages = []
    for path in [*files, directory / "history.jsonl"]:
        for line in path.read_text().splitlines():
            try:
                messages.append(json.loads(line)["message"])
            except (ValueError, KeyError):
                continue
    return messages


def test_a_long_rotated_history_pages_newest_first_across_its_files(tmp_path: Path) -> None:
    history = History(tmp_path, max_bytes=40_000, keep=3)
    for n in range(1200):  # long messages: lines cross the 64 KiB read blocks
        history.record(event(n % 60, message=f"#{n} " + "x" * (n % 700)))
    assert len(list(tmp_path.iterdir())) == 4
    expected = list(reversed(everything_oldest_first(tmp_path)))
    pages = [history.query(offset=o, limit=50) for o in range(0, len(expected) + 50, 50)]
    assert [r.message for page in pages for r in page] == expected
    for n in range(1200, 1300):
        history.record(event(0, message=f"#{n}", outcome="failed" if n % 7 == 0 else "ok"))
    assert [r.message for r in history.query(outcome="failed", limit=5)] == [
        f"#{n}" for n in (1295, 1288, 1281, 1274, 1267)
    ]


def test_a_torn_line_in_the_middle_of_a_file_is_skipped(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.record(event(1))
    with history.path.open("a") as stream:
        stream.write('{"time": "2026-11-24T11:00:00+00:00", "ag')  # power loss mid-append
    history.record(event(2))
    history.record(event(3))
    assert [r.message for r in history.query()] == ["updated #3", "updated #2", "updated #1"]
