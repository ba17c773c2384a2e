"""Benchmark: the newest 50 records of a 6 MiB per-agent history.

The history is what ``History`` keeps at its limits (``history.jsonl`` and five rotated
files of 1 MiB: ~6 MiB, ~25,000 records). The figure is ``History.query(limit=50)`` (it
reads from the end of the newest file); the baseline, in the same run, is reading and
parsing every record oldest first and keeping the newest 50 (what the query did before).
Medians of R runs, warm page cache. Target: <= 10 ms.

    .venv/bin/python bench/history_query.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, print_table  # noqa: E402
from engine.store.history import History, HistoryRecord  # noqa: E402

TARGET_MS = 10.0
FILE_BYTES = 1 << 20
KEEP = 5


def write_history(directory: Path) -> int:
    """Fill the current file and KEEP rotated ones to FILE_BYTES each; return the records."""
    count = 0
    for name in [*(f"history.{i}.jsonl" for i in range(KEEP, 0, -1)), "history.jsonl"]:
        lines = []
        size = 0
        while size < FILE_BYTES - 400:
            record = HistoryRecord(
                time=f"2026-{1 + count // 100_000:02d}-01T00:00:{count % 60:02d}+00:00",
                agent="default", event="check" if count % 5 else "update",
                outcome="succeeded", reason="update-in-window",
                message=f"checked: 17.1.0 is the cluster's target (record {count})",
                from_revision="17.1.0", to_revision="17.2.1", uid=None,
                duration_seconds=0.12, extra={"trigger": "timer"},
            )  # fmt: skip
            line = json.dumps(asdict(record), separators=(",", ":"), sort_keys=True) + "\n"
            lines.append(line)
            size += len(line)
            count += 1
        (directory / name).write_text("".join(lines))
    return count


def full_scan_newest(directory: Path, limit: int) -> list[HistoryRecord]:
    records = []
    for name in [*(f"history.{i}.jsonl" for i in range(KEEP, 0, -1)), "history.jsonl"]:
        with (directory / name).open(encoding="utf-8", errors="replace") as stream:
            for line in stream:
                try:
                    records.append(HistoryRecord(**json.loads(line)))
                except (ValueError, TypeError):
                    continue
    records.reverse()
    return records[:limit]


def median_ms(function: object, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()  # type: ignore[operator]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def figures(runs: int = 20) -> list[Figure]:
    work = Path(tempfile.mkdtemp(prefix="shb-history-"))
    try:
        count = write_history(work)
        history = History(work, max_bytes=FILE_BYTES, keep=KEEP)
        assert history.query(limit=50) == full_scan_newest(work, 50)
        size_mib = sum(p.stat().st_size for p in work.iterdir()) / (1 << 20)
        ours = median_ms(lambda: history.query(limit=50), runs)
        baseline = median_ms(lambda: full_scan_newest(work, 50), max(3, runs // 5))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [
        Figure(
            f"history: newest 50 of {size_mib:.1f} MiB ({count} records), median of {runs}",
            f"{ours:.2f} ms",
            f"full scan {baseline:.0f} ms",
            ours / baseline,
            f"<= {TARGET_MS:.0f} ms",
            ours <= TARGET_MS,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print_table(figures(args.runs))


if __name__ == "__main__":
    main()
