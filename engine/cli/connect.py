"""Reaching the daemon: the API client for ``--socket``, and which agents a command means."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from engine.errors import InvalidInput, ShepherdError

if TYPE_CHECKING:
    from engine.api.client import ApiClient

__all__ = ["agent_named_or_only", "agents_named_or_all", "api_for"]


def api_for(args: argparse.Namespace) -> ApiClient:
    from engine.api.client import ApiClient  # noqa: PLC0415 - lazy: not for --help

    return ApiClient(args.socket)


def agents_named_or_all(api: ApiClient, agent: str | None) -> list[str]:
    if agent:
        return [agent]
    names: list[str] = api.get("/v1")["agents"]
    if not names:
        raise ShepherdError("no managed agents (adopt one with 'shepherd agents add NAME')")
    return names


def agent_named_or_only(api: ApiClient, agent: str | None) -> str:
    if agent:
        return agent
    names: list[str] = api.get("/v1")["agents"]
    if len(names) == 1:
        return names[0]
    if not names:
        raise ShepherdError("no managed agents (adopt one with 'shepherd agents add NAME')")
    raise InvalidInput(f"name the agent: this host has {len(names)} ({', '.join(names)})")
