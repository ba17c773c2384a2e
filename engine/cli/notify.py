"""``shepherd notify`` (where notices go, what is still queued) and ``shepherd notify test``
(send one test notice to every channel now)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from engine.cli.connect import api_for
from engine.cli.exits import EXIT_FAILURE, EXIT_OK
from engine.cli.view import print_json

__all__ = ["notify_status_command", "notify_test_command"]

_NONE = (
    "No notice channel is configured: set notifications.webhook_url (and the webhook-secret "
    "secret) or notifications.smtp_server, email_from and email_to."
)


def notify_status_command(args: argparse.Namespace) -> int:
    answer: dict[str, Any] = api_for(args).get("/v1/notify")
    if args.json:
        print_json(answer)
        return EXIT_OK
    channels = answer.get("channels") or []
    print("channels: " + (", ".join(channels) if channels else "none"))
    for problem in answer.get("problems") or ():
        print(f"  problem: {problem}")
    pending = answer.get("pending") or []
    print(f"queued: {len(pending)}")
    for entry in pending:
        notice = entry["notice"]
        when = datetime.fromtimestamp(entry["next_try"], UTC).strftime("%H:%M:%S UTC")
        print(
            f"  {entry['channel']}: {notice['kind']} {notice.get('agent') or '(host)'} "
            f"- {notice['title']}; try {entry['attempts'] + 1} at {when}"
            + (f"; last error: {entry['last_error']}" if entry.get("last_error") else "")
        )
    if answer.get("last_error"):
        print(f"last error: {answer['last_error']}")
    return EXIT_OK


def notify_test_command(args: argparse.Namespace) -> int:
    answer: dict[str, Any] = api_for(args).post("/v1/notify/test", {})
    if args.json:
        print_json(answer)
    results: dict[str, dict[str, Any]] = answer.get("channels") or {}
    if not args.json:
        for problem in answer.get("problems") or ():
            print(f"problem: {problem}")
        if not results:
            print(_NONE)
        for channel, result in results.items():
            print(f"{channel}: {'sent' if result['ok'] else 'FAILED'}: {result['message']}")
    ok = bool(results) and all(r["ok"] for r in results.values())
    return EXIT_OK if ok else EXIT_FAILURE
