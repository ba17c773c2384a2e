"""``shepherd agents``: list, adopt or stop managing agents."""

from __future__ import annotations

import argparse

from engine.api.paths import agent_path
from engine.cli.connect import api_for
from engine.cli.exits import EXIT_OK
from engine.cli.records import local_operations, local_uid
from engine.cli.view import print_json, render_found

__all__ = ["agents_add_command", "agents_list_command", "agents_remove_command"]


def agents_list_command(args: argparse.Namespace) -> int:
    api = api_for(args)
    agents = api.get("/v1")["agents"]
    if args.json:
        print_json(agents)
        return EXIT_OK
    print("\n".join(agents) if agents else "No managed agents.")
    for line in render_found(api.get("/v1/agents").get("found", [])):
        print(line)
    return EXIT_OK


def agents_add_command(args: argparse.Namespace) -> int:
    if args.local:
        report = local_operations(args).adopt(args.agent, uid=local_uid())
        result = report.as_json()
    else:
        result = api_for(args).post("/v1/agents", {"agent": args.agent})
    already = "already managed" if result.get("already") else "now managing"
    print(f"{already}: {result['agent']} (active {result['active'] or 'unknown'})")
    for line in result["problems"] + result["notes"]:
        print(f"  note: {line}")
    return EXIT_OK


def agents_remove_command(args: argparse.Namespace) -> int:
    answer: dict[str, object] = {}
    if args.local:
        local_operations(args).hand_back(args.agent, uid=local_uid())
    else:
        answer = api_for(args).delete(agent_path(args.agent))
    note = answer.get("note") or "its files and service are untouched"
    print(f"no longer managing {args.agent} ({note})")
    return EXIT_OK
