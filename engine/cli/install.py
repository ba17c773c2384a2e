"""``shepherd install`` and ``shepherd uninstall``: set up a fresh agent namespace from its
cluster's target, or remove one (handing it back to a package-installed Teleport), through
the daemon."""

from __future__ import annotations

import argparse
from typing import Any

from engine.api.paths import agent_path
from engine.cli.connect import api_for
from engine.cli.exits import EXIT_OK
from engine.cli.view import ProgressPrinter, print_json

__all__ = ["install_command", "uninstall_command"]


def install_command(args: argparse.Namespace) -> int:
    api = api_for(args)
    body: dict[str, Any] = {"force": args.force}
    for key in ("proxy", "group", "base_url", "link_dir"):
        if getattr(args, key) is not None:
            body[key] = getattr(args, key)
    printer = None if args.json else ProgressPrinter(api, args.agent).start()
    try:
        answer = api.post(agent_path(args.agent, "install"), body)
    finally:
        if printer is not None:
            printer.finish()
    if args.json:
        print_json(answer)
        return EXIT_OK
    print(answer["message"])
    for note in answer["notes"]:
        print(f"  note: {note}")
    return EXIT_OK


def uninstall_command(args: argparse.Namespace) -> int:
    answer = api_for(args).post(agent_path(args.agent, "uninstall"), {"force": args.force})
    if args.json:
        print_json(answer)
        return EXIT_OK
    back = " and handed it back to the package-installed Teleport" if answer["handed_back"] else ""
    print(f"uninstalled {answer['agent']}{back}; removed: {', '.join(answer['removed'])}")
    for note in answer["notes"]:
        print(f"  note: {note}")
    return EXIT_OK
