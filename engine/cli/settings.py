"""``shepherd settings`` (show or change the host settings) and ``shepherd secret`` (store or
delete a keyring secret; secrets are write-only)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import quote

from engine.cli.connect import api_for
from engine.cli.exits import EXIT_OK
from engine.cli.view import print_json
from engine.errors import InvalidInput

__all__ = [
    "secret_delete_command",
    "secret_list_command",
    "secret_set_command",
    "settings_describe_command",
    "settings_get_command",
    "settings_set_command",
    "settings_unset_command",
]


def settings_get_command(args: argparse.Namespace) -> int:
    answer = api_for(args).get("/v1/settings")
    settings: dict[str, Any] = answer["settings"]
    if args.key:
        value = _lookup(settings, args.key)
        print(json.dumps(value) if args.json else _plain(value))
        return EXIT_OK
    if args.json:
        print_json(answer)
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
    from engine.settings.schema import option_for  # noqa: PLC0415 - lazy: not for --help

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


def settings_set_command(args: argparse.Namespace) -> int:
    from engine.settings.file import parse_assignment  # noqa: PLC0415 - lazy: not for --help

    changes: dict[str, str | None] = dict(parse_assignment(a) for a in args.assignments)
    api_for(args).request("PATCH", "/v1/settings", body={"changes": changes})
    for key, value in changes.items():
        print(f"{key} = {value}")
    return EXIT_OK


def settings_unset_command(args: argparse.Namespace) -> int:
    changes: dict[str, str | None] = dict.fromkeys(args.keys)
    api_for(args).request("PATCH", "/v1/settings", body={"changes": changes})
    for key in args.keys:
        print(f"{key} = (default)")
    return EXIT_OK


def settings_describe_command(args: argparse.Namespace) -> int:
    from engine.settings.schema import describe, schema_document  # noqa: PLC0415 - lazy: not for --help

    if args.json:
        print_json(schema_document())
    else:
        print(describe())
    return EXIT_OK


def secret_set_command(args: argparse.Namespace) -> int:
    name = _secret_name(args.name)
    if sys.stdin.isatty():
        import getpass  # noqa: PLC0415 - lazy: not for --help

        value = getpass.getpass(f"value for {name} (not shown): ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise InvalidInput(f"no value given for secret {name!r}")
    api_for(args).request("PUT", f"/v1/secrets/{quote(name, safe='')}", body={"value": value})
    print(f"{name}: stored")
    return EXIT_OK


def secret_delete_command(args: argparse.Namespace) -> int:
    name = _secret_name(args.name)
    result = api_for(args).delete(f"/v1/secrets/{quote(name, safe='')}")
    print(f"{name}: {'deleted' if result['deleted'] else 'was not stored'}")
    return EXIT_OK


def secret_list_command(args: argparse.Namespace) -> int:
    secrets = api_for(args).get("/v1/secrets")
    state = "available" if secrets["available"] else f"UNAVAILABLE: {secrets['problem']}"
    print(f"{secrets['backend']} keyring ({state})")
    for name, stored in (secrets.get("stored") or {}).items():
        print(f"  {name}: {'stored' if stored else '-'}")
    return EXIT_OK


def _secret_name(name: str) -> str:
    from engine.settings.secret_names import validate_secret_name  # noqa: PLC0415 - lazy: not for --help

    return validate_secret_name(name)
