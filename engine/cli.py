"""The ``shepherd`` command line."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from engine.errors import ShepherdError
from engine.policy import Decision, decide
from engine.scenario import Scenario, load_scenario, parse_scenario

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

_EPILOG = """\
exit codes:
  0  success
  1  the operation failed (the message says why; nothing was left half-done)
  2  bad input: a malformed argument, file or setting (the message names it)
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except ShepherdError as e:
        print(f"shepherd: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(e, ValueError) else EXIT_FAILURE
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shepherd",
        description="Keeps the Teleport agents on this host on the version their cluster "
        "wants, updates them only when it is safe, and rolls bad updates back.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    explain = commands.add_parser(
        "explain",
        help="show what Shepherd would decide for a scenario file, and why",
        description="Print the update decision for a scenario (YAML or JSON) describing the "
        "local settings, the stored state, the cluster's answer, the agent's health and the "
        "time — no cluster needed. The scenario format is documented in docs/scenarios.md.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("scenario", nargs="?", type=Path, help="scenario file (YAML or JSON)")
    source.add_argument("--demo", action="store_true", help="use the embedded demo scenario")
    explain.add_argument("--json", action="store_true", help="print the decision as JSON")
    explain.set_defaults(handler=_cmd_explain)
    return parser


def _cmd_explain(args: argparse.Namespace) -> int:
    scenario: Scenario
    if args.demo:
        text = resources.files("engine").joinpath("demo_scenario.yaml").read_text("utf-8")
        scenario = parse_scenario(text, source="embedded demo scenario")
    else:
        scenario = load_scenario(args.scenario)
    decision = decide(scenario.inputs, random.Random(scenario.seed))  # noqa: S311 - jitter, not crypto
    if args.json:
        print(json.dumps(decision_to_json(decision), indent=2))
    else:
        print(render_decision(decision))
    return EXIT_OK


def decision_to_json(decision: Decision) -> dict[str, Any]:
    return {
        "action": decision.action.value,
        "reason": decision.reason.value,
        "message": decision.message,
        "target": str(decision.target) if decision.target else None,
        "delay_seconds": round(decision.delay.total_seconds(), 3),
        "next_check": decision.next_check.isoformat() if decision.next_check else None,
        "mark_unhealthy": decision.mark_unhealthy,
    }


def render_decision(decision: Decision) -> str:
    lines = [f"decision:   {decision.action.value} ({decision.reason.value})"]
    if decision.target is not None:
        lines.append(f"target:     {decision.target}")
    if decision.delay:
        lines.append(f"delay:      {decision.delay.total_seconds():.0f} s (jitter)")
    if decision.next_check is not None:
        lines.append(f"next check: {decision.next_check.strftime('%Y-%m-%d %H:%M:%S UTC')}")
    lines.append(f"why:        {decision.message}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
