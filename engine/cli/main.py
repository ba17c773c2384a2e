"""The ``shepherd`` command line: a client of the daemon's local API, plus the daemon itself,
a one-shot local pass for timer jobs, and the offline policy explainer."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import random
import sys
from collections.abc import Callable, Sequence
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from engine.api.client import ApiClient, ApiError, DaemonUnavailable, agent_path, default_socket
from engine.api.schema import decision_json, outcome_json
from engine.cli.scenario import Scenario, load_scenario, parse_scenario
from engine.cli.view import ProgressPrinter, render_decision, render_decision_json, render_status
from engine.errors import InvalidInput, LockTimeout, ShepherdError
from engine.logs import configure_logging
from engine.policy.decide import Decision, decide
from engine.service.health import HealthConfig
from engine.settings.file import SettingsFile, parse_assignment
from engine.settings.schema import describe, option_for, schema_document
from engine.settings.secrets import validate_secret_name
from engine.update.host import HostConfig, ManagedAgents, with_settings

__all__ = ["decision_to_json", "main", "render_decision"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_NO_DAEMON = 3
EXIT_DENIED = 4
EXIT_BUSY = 5

_EPILOG = """\
exit codes:
  0  success
  1  the operation failed (the message says why; nothing was left half-done)
  2  bad input: a malformed argument, file or setting (the message names it)
  3  the Shepherd daemon is not running or not reachable
  4  permission denied (not root and not in the 'shepherd' group)
  5  busy: another update holds the agent's lock
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except DaemonUnavailable as e:
        print(f"shepherd: {e}", file=sys.stderr)
        return EXIT_NO_DAEMON
    except ApiError as e:
        print(f"shepherd: error: {e.message}", file=sys.stderr)
        if e.status == 403:
            return EXIT_DENIED
        if e.status in {400, 404}:
            return EXIT_BAD_INPUT
        return EXIT_BUSY if "lock" in e.message and e.status == 409 else EXIT_FAILURE
    except LockTimeout as e:
        print(f"shepherd: error: {e}", file=sys.stderr)
        return EXIT_BUSY
    except ShepherdError as e:
        print(f"shepherd: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT if isinstance(e, ValueError) else EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. 'shepherd status | head'
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return result


# ---- parser -----------------------------------------------------------------------------
def _command(
    commands: Any, name: str, help_text: str, handler: Callable[[argparse.Namespace], int]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text[0].upper() + help_text[1:] + ".",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shepherd",
        description="Keeps the Teleport agents on this host on the version their cluster "
        "wants, updates them only when it is safe, and rolls bad updates back. Most commands "
        "talk to the Shepherd daemon over its local socket.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--socket",
        type=Path,
        default=None,
        help=f"the daemon's API socket (default: $SHEPHERD_SOCKET or {default_socket()})",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    status = _command(
        commands, "status", "show each agent: versions, health, why and when", _status
    )
    status.add_argument("agent", nargs="?", help="one agent (namespace); default: all")
    status.add_argument("--json", action="store_true", help="print JSON")

    check = _command(commands, "check", "ask the cluster now and act as the policy says", _check)
    check.add_argument("agent", nargs="?", help="one agent; default: all")
    check.add_argument("--json", action="store_true", help="print JSON")

    update = _command(
        commands,
        "update",
        "update an agent now if the policy allows (--now: without waiting for the window)",
        _update,
    )
    update.add_argument("agent", nargs="?", help="one agent; default: all")
    update.add_argument(
        "--now", action="store_true", help="force: skip the cluster window and jitter"
    )
    update.add_argument(
        "--dry-run", action="store_true", help="say what would happen, change nothing"
    )
    update.add_argument("--json", action="store_true", help="print JSON")
    update.add_argument(
        "--local",
        action="store_true",
        help="run one pass in this process without the daemon (as root, e.g. from a timer)",
    )
    _host_options(update)

    _change_commands(commands)
    _read_commands(commands)
    _settings_commands(commands)
    _daemon_command(commands)
    return parser


def _change_commands(commands: Any) -> None:
    rollback = _command(
        commands, "rollback", "switch an agent back to its backup version", _rollback
    )
    rollback.add_argument("agent", nargs="?", help="the agent (default: the only one)")
    rollback.add_argument(
        "--reason", default="rolled back by hand", help="why (kept in the history)"
    )
    rollback.add_argument("--json", action="store_true", help="print JSON")

    for name, help_text in (
        ("pin", "keep an agent on its current version (update.yaml pinned: true)"),
        ("unpin", "let an agent follow its cluster again"),
        ("enable", "enable updates of an agent"),
        ("disable", "disable updates of an agent (nothing is asked or changed)"),
    ):
        command = _command(commands, name, help_text, _spec_change)
        command.add_argument("agent", nargs="?", help="the agent (default: the only one)")
        command.set_defaults(action=name)

    clear = _command(
        commands, "clear-bad", "allow a version that failed or was rolled back again", _clear_bad
    )
    clear.add_argument("agent", help="the agent")
    clear.add_argument("version", help="the version, e.g. 17.2.1")


def _read_commands(commands: Any) -> None:
    history = _command(commands, "history", "what Shepherd changed, and every failure", _history)
    history.add_argument("agent", nargs="?", help="one agent; default: all")
    fmt = history.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    history.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    history.add_argument("--offset", type=int, default=0, help="skip this many newest first")
    history.add_argument("--event", help="only this event (update, rollback, settings, ...)")

    agents = _command(commands, "agents", "list, adopt or stop managing agents", _agents_list)
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="ACTION")
    agents_list = agents_sub.add_parser("list", help="list the managed agents")
    agents_list.add_argument("--json", action="store_true", help="print JSON")
    agents_list.set_defaults(handler=_agents_list)
    agents_add = agents_sub.add_parser(
        "add", help="adopt an agent namespace set up by teleport-update (nothing reinstalled)"
    )
    agents_add.add_argument("agent", help="namespace (default for the main agent)")
    agents_add.set_defaults(handler=_agents_add)
    agents_remove = agents_sub.add_parser(
        "remove", help="stop managing an agent (its files and service are untouched)"
    )
    agents_remove.add_argument("agent", help="namespace")
    agents_remove.set_defaults(handler=_agents_remove)
    agents.add_argument("--json", action="store_true", help="print JSON")

    explain = _command(
        commands,
        "explain",
        "show what Shepherd would decide, and why: for a managed agent (asks the daemon) or "
        "for a scenario file (no cluster needed; format in docs/scenarios.md)",
        _explain,
    )
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("scenario", nargs="?", type=Path, help="scenario file (YAML or JSON)")
    source.add_argument("--demo", action="store_true", help="use the embedded demo scenario")
    source.add_argument("--agent", help="explain the live decision for this managed agent")
    explain.add_argument("--now", action="store_true", help="as if 'update --now' were asked")
    explain.add_argument("--json", action="store_true", help="print the decision as JSON")


def _settings_commands(commands: Any) -> None:
    settings = _command(
        commands,
        "settings",
        "show or change the host settings (cluster proxy, group, CDN, CA bundle, HTTP proxy, "
        "windows, canary, ...)",
        _settings_get,
    )
    sub = settings.add_subparsers(dest="settings_command", metavar="ACTION")
    get = sub.add_parser("get", help="show the settings (or one key)")
    get.add_argument("key", nargs="?", help="e.g. network.http_proxy or agents.staging.group")
    get.add_argument("--json", action="store_true", help="print JSON")
    get.set_defaults(handler=_settings_get)
    change = sub.add_parser(
        "set",
        help="set KEY=VALUE (several at once: all or nothing)",
        description="Set settings; each is validated and a bad value changes nothing. "
        "Examples: network.http_proxy=http://proxy:3128  agents.staging.group=canary  "
        "'agents.default.windows=sat 02:00 3h Europe/Berlin'",
    )
    change.add_argument("assignments", nargs="+", metavar="KEY=VALUE")
    change.set_defaults(handler=_settings_set)
    unset = sub.add_parser("unset", help="back to the default")
    unset.add_argument("keys", nargs="+", metavar="KEY")
    unset.set_defaults(handler=_settings_unset)
    options = sub.add_parser("describe", help="every setting: type, default and meaning")
    options.add_argument(
        "--json", action="store_true", help="print JSON (what GET /v1/settings/schema serves)"
    )
    options.set_defaults(handler=_settings_describe)
    settings.add_argument("--json", action="store_true", help="print JSON")
    settings.set_defaults(key=None)

    secret = _command(
        commands,
        "secret",
        "store or delete a secret in the keyring (proxy-password, mirror-token, "
        "mirror-token:AGENT); secrets are write-only",
        _secret_list,
    )
    sub = secret.add_subparsers(dest="secret_command", metavar="ACTION")
    store = sub.add_parser(
        "set",
        help="store a secret, read from standard input or a prompt (never from arguments)",
    )
    store.add_argument("name", help="proxy-password, mirror-token or mirror-token:AGENT")
    store.set_defaults(handler=_secret_set)
    delete = sub.add_parser("delete", help="delete a secret")
    delete.add_argument("name")
    delete.set_defaults(handler=_secret_delete)
    listing = sub.add_parser("list", help="which secrets are stored (never their values)")
    listing.set_defaults(handler=_secret_list)


def _daemon_command(commands: Any) -> None:
    daemon = _command(
        commands,
        "daemon",
        "run the Shepherd daemon (root): poll loops per agent and the local API",
        _daemon,
    )
    _host_options(daemon)
    daemon.add_argument("--group", default="shepherd", help="group allowed to use the API")
    daemon.add_argument(
        "--poll-interval",
        type=float,
        default=None,
        help="seconds between checks (default: the policy.poll_interval setting, 5 min)",
    )
    daemon.add_argument(
        "--poll-spread", type=float, default=60, help="random spread of the interval (60)"
    )
    daemon.add_argument(
        "--first-check", type=float, default=60, help="seconds before the first check (60)"
    )
    daemon.add_argument(
        "--request-timeout",
        type=float,
        default=10.0,
        help="seconds a client may take to send a request (10)",
    )
    daemon.add_argument(
        "--log-format", choices=("text", "json"), default="text", help="log lines as text or JSON"
    )


def _host_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("host (daemon and --local)")
    group.add_argument("--root", type=Path, default=Path("/"), help="host root (default /)")
    group.add_argument(
        "--service",
        choices=("systemd", "supervisord"),
        default="systemd",
        help="the service manager running the agents (default systemd)",
    )
    group.add_argument("--supervisor-config", type=Path, help="supervisord.conf (supervisord)")
    group.add_argument(
        "--settings",
        type=Path,
        help="settings file (default: ROOT/etc/shepherd/settings.toml)",
    )
    group.add_argument(
        "--ca-bundle", type=Path, help="CA bundle for the cluster and the CDN (over settings)"
    )
    group.add_argument("--base-url", help="custom CDN base URL (https only; local setting)")
    group.add_argument("--arch", help="artifact architecture in Go naming (default: this host)")
    group.add_argument("--health-poll", type=float, default=2.0, help="health poll seconds (2)")
    group.add_argument(
        "--health-timeout", type=float, default=60.0, help="health check limit seconds (60)"
    )


def _host_config(args: argparse.Namespace) -> HostConfig:
    if args.base_url is not None and not args.base_url.startswith("https://"):
        raise InvalidInput(f"--base-url {args.base_url!r} must use https://")
    if args.health_poll <= 0 or args.health_timeout <= 0:
        raise InvalidInput("--health-poll and --health-timeout must be positive")
    if args.ca_bundle is not None and not args.ca_bundle.is_file():
        raise InvalidInput(f"--ca-bundle {str(args.ca_bundle)!r} does not exist or is not a file")
    host = HostConfig(
        root=args.root,
        service=args.service,
        supervisor_config=args.supervisor_config,
        health=HealthConfig(poll_seconds=args.health_poll, timeout_seconds=args.health_timeout),
        ca_bundle=args.ca_bundle,
        base_url=args.base_url,
        arch=args.arch,
    )
    settings = SettingsFile(args.root, args.settings).load()
    host, problem = with_settings(host, settings)
    if problem is not None:
        logging.getLogger("shepherd").warning("secrets unavailable: %s", problem)
    return host


# ---- helpers ----------------------------------------------------------------------------
def _api(args: argparse.Namespace) -> ApiClient:
    return ApiClient(args.socket)


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def _agents(api: ApiClient, agent: str | None) -> list[str]:
    if agent:
        return [agent]
    names: list[str] = api.get("/v1")["agents"]
    if not names:
        raise ShepherdError("no managed agents (adopt one with 'shepherd agents add NAME')")
    return names


def _one_agent(api: ApiClient, agent: str | None) -> str:
    if agent:
        return agent
    names: list[str] = api.get("/v1")["agents"]
    if len(names) == 1:
        return names[0]
    if not names:
        raise ShepherdError("no managed agents (adopt one with 'shepherd agents add NAME')")
    raise InvalidInput(f"name the agent: this host has {len(names)} ({', '.join(names)})")


# ---- commands ---------------------------------------------------------------------------
def _status(args: argparse.Namespace) -> int:
    api = _api(args)
    agents = [api.get(agent_path(args.agent))] if args.agent else api.get("/v1/agents")["agents"]
    if args.json:
        _print_json(agents if not args.agent else agents[0])
        return EXIT_OK
    print(render_status(agents))
    hello = api.get("/v1")
    secrets = hello.get("secrets") or {}
    state = "available" if secrets.get("available") else f"unavailable: {secrets.get('problem')}"
    print(f"\nsecrets: {secrets.get('backend')} keyring ({state})")
    problem = (hello.get("settings") or {}).get("problem")
    if problem:
        print(f"settings: {problem}")
    return EXIT_OK


def _run_pass(args: argparse.Namespace, path_leaf: str, body: dict[str, Any]) -> int:
    api = _api(args)
    results = []
    failed = False
    for name in _agents(api, args.agent):
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
            _print_pass(result)
    if args.json:
        _print_json(results if not args.agent else results[0])
    return EXIT_FAILURE if failed else EXIT_OK


def _print_pass(result: dict[str, Any]) -> None:
    print(f"[{result['agent']}]")
    if result.get("repaired"):
        print(f"repaired:   {result['repaired']['message']}")
    print(render_decision_json(result["decision"]))
    outcome = result.get("outcome")
    if outcome is not None:
        verdict = (
            "ok"
            if outcome["ok"]
            else outcome["reason"]
            if outcome["reason"] == "cancelled"
            else "FAILED"
        )
        print(f"result:     {verdict}: {outcome['message']}")
    elif result.get("dry_run"):
        print("result:     dry run, nothing changed")


def _check(args: argparse.Namespace) -> int:
    return _run_pass(args, "check", {})


def _update(args: argparse.Namespace) -> int:
    if args.local:
        return _update_local(args)
    return _run_pass(args, "update", {"now": args.now, "dry_run": args.dry_run})


def _update_local(args: argparse.Namespace) -> int:
    host = _host_config(args)
    names = [args.agent] if args.agent else ManagedAgents(host).names()
    if not names:
        raise ShepherdError(f"no agents under {host.root} (no opt/teleport/*/update.yaml)")
    for name in names:
        if not host.layout(name).update_yaml.is_file():
            raise InvalidInput(
                f"no agent {name!r} on this host: {host.layout(name).update_yaml} does not exist"
            )
    failed = False
    results = []
    with host.client() as client:
        for name in names:
            printer = _LocalProgress()
            ctx = host.context(name, client, progress=printer.draw, who="shepherd update --local")
            try:
                result = host.update_pass(ctx).run(
                    forced=args.now, dry_run=args.dry_run, uid=os.getuid(), gate=host.canary_gate()
                )
            except ShepherdError as e:  # one agent's trouble never stops the others
                print(f"[{name}]\nerror:      {e}", file=sys.stderr)
                failed = True
                continue
            finally:
                printer.finish()
            data = {
                "agent": name,
                "decision": decision_json(result.decision),
                "outcome": outcome_json(result.outcome) if result.outcome else None,
                "repaired": outcome_json(result.repaired) if result.repaired else None,
                "dry_run": args.dry_run,
            }
            results.append(data)
            failed = failed or result.failed
            if not args.json:
                _print_pass(data)
    if args.json:
        _print_json(results if not args.agent else results[0])
    return EXIT_FAILURE if failed else EXIT_OK


class _LocalProgress:
    def __init__(self) -> None:
        self.printer = ProgressPrinter.__new__(ProgressPrinter)
        self.printer.stream = sys.stderr
        self.printer.tty = sys.stderr.isatty()
        self.printer._last_quarter = -1
        self.printer._drawn = False

    def draw(self, progress: Any) -> None:
        self.printer.draw(
            {
                "bytes_done": progress.bytes_done,
                "bytes_total": progress.bytes_total,
                "rate_bps": progress.rate_bps,
                "eta_seconds": progress.eta_seconds,
            }
        )

    def finish(self) -> None:
        self.printer.finish()


def _rollback(args: argparse.Namespace) -> int:
    api = _api(args)
    name = _one_agent(api, args.agent)
    try:
        outcome = api.post(agent_path(name, "rollback"), {"reason": args.reason})
    except ApiError as e:
        if e.status != 409:
            raise
        print(f"shepherd: rollback of {name} failed: {e.message}", file=sys.stderr)
        return EXIT_FAILURE
    if args.json:
        _print_json(outcome)
    else:
        print(outcome["message"])
    return EXIT_OK


def _spec_change(args: argparse.Namespace) -> int:
    api = _api(args)
    name = _one_agent(api, args.agent)
    result = api.post(agent_path(name, args.action))
    state = {"pin": "pinned", "unpin": "unpinned", "enable": "enabled", "disable": "disabled"}
    already = "" if result["changed"] else " (it already was)"
    print(f"{name}: updates {state[args.action]}{already}")
    return EXIT_OK


def _clear_bad(args: argparse.Namespace) -> int:
    result = _api(args).post(agent_path(args.agent, "clear-bad"), {"version": args.version})
    if result["cleared"]:
        print(f"{args.agent}: {result['version']} may be installed again")
    else:
        print(f"{args.agent}: {result['version']} was not marked bad; nothing to clear")
    return EXIT_OK


def _history(args: argparse.Namespace) -> int:
    path = agent_path(args.agent, "history") if args.agent else "/v1/history"
    page = _api(args).get(path, {"limit": args.limit, "offset": args.offset, "event": args.event})
    records: list[dict[str, Any]] = page["records"]
    if args.json:
        _print_json(records)
    elif args.csv:
        import csv  # noqa: PLC0415 - only this command needs it

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


def _agents_list(args: argparse.Namespace) -> int:
    agents = _api(args).get("/v1")["agents"]
    if args.json:
        _print_json(agents)
    else:
        print("\n".join(agents) if agents else "No managed agents.")
    return EXIT_OK


def _agents_add(args: argparse.Namespace) -> int:
    result = _api(args).post("/v1/agents", {"agent": args.agent})
    already = "already managed" if result.get("already") else "now managing"
    print(f"{already}: {result['agent']} (active {result['active'] or 'unknown'})")
    for line in result["problems"] + result["notes"]:
        print(f"  note: {line}")
    return EXIT_OK


def _agents_remove(args: argparse.Namespace) -> int:
    _api(args).delete(agent_path(args.agent))
    print(f"no longer managing {args.agent} (its files and service are untouched)")
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    if args.agent:
        api = _api(args)
        result = api.request(
            "GET", agent_path(args.agent, "explain"), query={"now": "true" if args.now else None}
        )
        decision = result["decision"]
        print(json.dumps(decision, indent=2) if args.json else render_decision_json(decision))
        return EXIT_OK
    scenario: Scenario
    if args.demo:
        text = resources.files("engine").joinpath("demo_scenario.yaml").read_text("utf-8")
        scenario = parse_scenario(text, source="embedded demo scenario")
    else:
        scenario = load_scenario(args.scenario)
    inputs = scenario.inputs
    if args.now:
        from dataclasses import replace  # noqa: PLC0415

        inputs = replace(inputs, forced=True)
    decided = decide(inputs, random.Random(scenario.seed))  # noqa: S311 - jitter, not crypto
    if args.json:
        print(json.dumps(decision_to_json(decided), indent=2))
    else:
        print(render_decision(decided))
    return EXIT_OK


def decision_to_json(decision: Decision) -> dict[str, Any]:
    return {**decision_json(decision), "mark_unhealthy": decision.mark_unhealthy}


def _settings_get(args: argparse.Namespace) -> int:
    answer = _api(args).get("/v1/settings")
    settings: dict[str, Any] = answer["settings"]
    if args.key:
        value = _lookup(settings, args.key)
        print(json.dumps(value) if args.json else _plain(value))
        return EXIT_OK
    if args.json:
        _print_json(answer)
        return EXIT_OK
    print(f"# {answer['file']}")
    if answer.get("problem"):
        print(f"# problem: {answer['problem']}")
    for key, value in _flatten(settings):
        print(f"{key} = {_plain(value)}")
    secrets = answer["secrets"]
    state = "available" if secrets["available"] else f"UNAVAILABLE: {secrets['problem']}"
    print(f"# secrets: {secrets['backend']} keyring ({state})")
    for name, stored in (secrets.get("stored") or {}).items():
        if stored:
            print(f"#   {name}: stored")
    return EXIT_OK


def _lookup(settings: dict[str, Any], key: str) -> Any:
    option_for(key)  # raises InvalidInput naming an unknown key
    if key in settings["host"]:
        return settings["host"][key]
    _, namespace, name = key.split(".", 2)
    return settings["agents"].get(namespace, {}).get(name)


def _flatten(settings: dict[str, Any]) -> list[tuple[str, Any]]:
    items = list(settings["host"].items())
    for namespace, values in settings["agents"].items():
        items += [(f"agents.{namespace}.{name}", value) for name, value in values.items()]
    return items


def _plain(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _settings_set(args: argparse.Namespace) -> int:
    changes: dict[str, str | None] = dict(parse_assignment(a) for a in args.assignments)
    _api(args).request("PATCH", "/v1/settings", body={"changes": changes})
    for key, value in changes.items():
        print(f"{key} = {value}")
    return EXIT_OK


def _settings_unset(args: argparse.Namespace) -> int:
    changes: dict[str, str | None] = dict.fromkeys(args.keys)
    _api(args).request("PATCH", "/v1/settings", body={"changes": changes})
    for key in args.keys:
        print(f"{key} = (default)")
    return EXIT_OK


def _settings_describe(args: argparse.Namespace) -> int:
    if args.json:
        _print_json(schema_document())
    else:
        print(describe())
    return EXIT_OK


def _secret_set(args: argparse.Namespace) -> int:
    name = validate_secret_name(args.name)
    if sys.stdin.isatty():
        value = getpass.getpass(f"value for {name} (not shown): ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise InvalidInput(f"no value given for secret {name!r}")
    _api(args).request("PUT", f"/v1/secrets/{quote(name, safe='')}", body={"value": value})
    print(f"{name}: stored")
    return EXIT_OK


def _secret_delete(args: argparse.Namespace) -> int:
    name = validate_secret_name(args.name)
    result = _api(args).delete(f"/v1/secrets/{quote(name, safe='')}")
    print(f"{name}: {'deleted' if result['deleted'] else 'was not stored'}")
    return EXIT_OK


def _secret_list(args: argparse.Namespace) -> int:
    secrets = _api(args).get("/v1/secrets")
    state = "available" if secrets["available"] else f"UNAVAILABLE: {secrets['problem']}"
    print(f"{secrets['backend']} keyring ({state})")
    for name, stored in (secrets.get("stored") or {}).items():
        print(f"  {name}: {'stored' if stored else '-'}")
    return EXIT_OK


def _daemon(args: argparse.Namespace) -> int:
    from engine.daemon.core import Daemon, DaemonOptions  # noqa: PLC0415 - only here
    from engine.daemon.http import Limits  # noqa: PLC0415

    configure_logging(args.log_format)
    host = _host_config(args)
    host.service_manager()  # fail now, not in the first pass, on a bad --service setup
    options = DaemonOptions(
        socket_path=args.socket or default_socket(),
        group=args.group,
        poll_interval=timedelta(seconds=args.poll_interval) if args.poll_interval else None,
        poll_spread=timedelta(seconds=args.poll_spread),
        first_check=timedelta(seconds=args.first_check),
        limits=Limits(read_timeout_seconds=args.request_timeout),
    )
    settings_file = SettingsFile(args.root, args.settings)
    asyncio.run(Daemon(host, options, settings_file=settings_file).run())
    logging.getLogger("shepherd.daemon").info("stopped")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
