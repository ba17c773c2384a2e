"""``shepherd explain``: what Shepherd would decide and why, for a managed agent (asks the
daemon) or for a scenario file (offline, no cluster needed)."""

from __future__ import annotations

import argparse
import json

from engine.api.paths import agent_path
from engine.cli.connect import api_for
from engine.cli.exits import EXIT_OK
from engine.cli.view import render_decision, render_decision_json

__all__ = ["explain_command"]


def explain_command(args: argparse.Namespace) -> int:
    if args.agent:
        api = api_for(args)
        result = api.request(
            "GET", agent_path(args.agent, "explain"), query={"now": "true" if args.now else None}
        )
        decision = result["decision"]
        print(json.dumps(decision, indent=2) if args.json else render_decision_json(decision))
        return EXIT_OK
    import random  # noqa: PLC0415 - lazy: not for --help
    from dataclasses import replace  # noqa: PLC0415 - lazy: not for --help
    from importlib import resources  # noqa: PLC0415 - lazy: not for --help

    from engine.cli.scenario import load_scenario, parse_scenario  # noqa: PLC0415 - lazy: not for --help
    from engine.policy.decide import decide  # noqa: PLC0415 - lazy: not for --help
    from engine.update.report import explained_decision_json  # noqa: PLC0415 - lazy: not for --help

    if args.demo:
        text = resources.files("engine").joinpath("demo_scenario.yaml").read_text("utf-8")
        scenario = parse_scenario(text, source="embedded demo scenario")
    else:
        scenario = load_scenario(args.scenario)
    inputs = scenario.inputs
    if args.now:
        inputs = replace(inputs, forced=True)
    decided = decide(inputs, random.Random(scenario.seed))  # noqa: S311 - jitter, not crypto
    if args.json:
        print(json.dumps(explained_decision_json(decided), indent=2))
    else:
        print(render_decision(decided))
    return EXIT_OK
