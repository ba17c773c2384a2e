"""``shepherd status``: each agent's versions, health, why and when."""

from __future__ import annotations

import argparse

from engine.api.paths import agent_path
from engine.cli.connect import api_for
from engine.cli.exits import EXIT_OK
from engine.cli.view import print_json, render_found, render_status

__all__ = ["status_command"]


def status_command(args: argparse.Namespace) -> int:
    api = api_for(args)
    listing = {} if args.agent else api.get("/v1/agents")
    agents = [api.get(agent_path(args.agent))] if args.agent else listing["agents"]
    if args.json:
        print_json(agents if not args.agent else agents[0])
        return EXIT_OK
    print(render_status(agents))
    found = render_found(listing.get("found", []))
    if found:
        print("\n" + "\n".join(found))
    hello = api.get("/v1")
    secrets = hello.get("secrets") or {}
    state = "available" if secrets.get("available") else f"unavailable: {secrets.get('problem')}"
    print(f"\nsecrets: {secrets.get('backend')} keyring ({state})")
    problem = (hello.get("settings") or {}).get("problem")
    if problem:
        print(f"settings: {problem}")
    return EXIT_OK
