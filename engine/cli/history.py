"""``shepherd history``: what Shepherd changed, and every failure (text, JSON or CSV)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from engine.api.paths import agent_path
from engine.cli.connect import api_for
from engine.cli.exits import EXIT_OK
from engine.cli.view import print_json

__all__ = ["history_command"]


def history_command(args: argparse.Namespace) -> int:
    path = agent_path(args.agent, "history") if args.agent else "/v1/history"
    page = api_for(args).get(
        path, {"limit": args.limit, "offset": args.offset, "event": args.event}
    )
    records: list[dict[str, Any]] = page["records"]
    if args.json:
        print_json(records)
    elif args.csv:
        import csv  # noqa: PLC0415 - lazy: not for --help

        writer = csv.DictWriter(sys.stdout, fieldnames=_HISTORY_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for record in records:
            writer.writerow({**record, "extra": json.dumps(record.get("extra") or {})})
    else:
        if not records:
            filtered = args.agent or args.event or args.offset
            print("No matching history." if filtered else "No history yet.")
        for r in records:
            versions = " -> ".join(filter(None, [r.get("from_revision"), r.get("to_revision")]))
            who = f" uid {r['uid']}" if r.get("uid") is not None else ""
            print(
                f"{r['time'][:19].replace('T', ' ')}  {r['agent']:<10} {r['event']:<9} "
                f"{r['outcome']:<9} {versions:<22}{who}  {r['message']}"
            )
    return EXIT_OK


_HISTORY_COLUMNS = [
    "time",
    "agent",
    "event",
    "outcome",
    "reason",
    "message",
    "from_revision",
    "to_revision",
    "uid",
    "duration_seconds",
    "extra",
]
