"""The commands that act on an agent through the daemon: check, update, rollback, pin, unpin,
enable, disable, clear-bad."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.api.errors import ApiError
from engine.api.paths import agent_path
from engine.cli.connect import agent_named_or_only, agents_named_or_all, api_for
from engine.cli.exits import EXIT_FAILURE, EXIT_OK
from engine.cli.local import update_local
from engine.cli.records import local_agent, local_operations, local_uid
from engine.cli.view import ProgressPrinter, print_json, print_pass

__all__ = [
    "check_command",
    "clear_bad_command",
    "rollback_command",
    "spec_change_command",
    "update_command",
]


def _run_pass(args: argparse.Namespace, path_leaf: str, body: dict[str, Any]) -> int:
    api = api_for(args)
    results = []
    failed = False
    for name in agents_named_or_all(api, args.agent):
        printer = None if args.json else ProgressPrinter(api, name).start()
        try:
            result = api.post(agent_path(name, path_leaf), body)
        finally:
            if printer is not None:
                printer.finish()
        results.append(result)
        outcome = result.get("outcome")
        failed = failed or (
            outcome is not None and not outcome["ok"] and outcome["reason"] != "cancelled"
        )
        failed = failed or result["decision"]["action"] == "error"
        if not args.json:
            print_pass(result)
    if args.json:
        print_json(results if not args.agent else results[0])
    return EXIT_FAILURE if failed else EXIT_OK


def check_command(args: argparse.Namespace) -> int:
    return _run_pass(args, "check", {})


def update_command(args: argparse.Namespace) -> int:
    if args.local:
        return update_local(args)
    return _run_pass(args, "update", {"now": args.now, "dry_run": args.dry_run})


def rollback_command(args: argparse.Namespace) -> int:
    api = api_for(args)
    name = agent_named_or_only(api, args.agent)
    try:
        outcome = api.post(agent_path(name, "rollback"), {"reason": args.reason})
    except ApiError as e:
        if e.status != 409:
            raise
        print(f"shepherd: rollback of {name} failed: {e.message}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        print_json(outcome)
    else:
        print(outcome["message"])
    return EXIT_OK


def spec_change_command(args: argparse.Namespace) -> int:
    if args.local:
        from engine.update.operations import SPEC_ACTIONS  # noqa: PLC0415 - lazy: not for --help

        ops = local_operations(args)
        name = local_agent(ops, args.agent)
        changes = SPEC_ACTIONS[args.action]
        result = ops.set_spec(name, changes, uid=local_uid(), who=f"shepherd {args.action}")
    else:
        api = api_for(args)
        name = agent_named_or_only(api, args.agent)
        result = api.post(agent_path(name, args.action))
    state = {"pin": "pinned", "unpin": "unpinned", "enable": "enabled", "disable": "disabled"}
    already = "" if result["changed"] else " (it already was)"
    print(f"{name}: updates {state[args.action]}{already}")
    return EXIT_OK


def clear_bad_command(args: argparse.Namespace) -> int:
    if args.local:
        ops = local_operations(args)
        name = local_agent(ops, args.agent)
        result = ops.clear_bad(name, args.version, uid=local_uid(), who="shepherd clear-bad")
    else:
        body = {"version": args.version}
        result = api_for(args).post(agent_path(args.agent, "clear-bad"), body)
    if result["cleared"]:
        print(f"{args.agent}: {result['version']} may be installed again")
    else:
        print(f"{args.agent}: {result['version']} was not marked bad; nothing to clear")
    return EXIT_OK
