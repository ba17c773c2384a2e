"""``--local`` for pin, unpin, enable, disable, clear-bad and ``agents add|remove``: the same
engine operations the daemon runs (``engine.update.operations``), in this process, under the
agent's lock, for a host whose daemon is not running (as root)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import InvalidInput, ShepherdError

if TYPE_CHECKING:
    from engine.update.operations import AgentOperations

__all__ = ["add_local_option", "local_agent", "local_operations", "local_uid"]


def add_local_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--local",
        action="store_true",
        help="change the agent's files in this process, without the daemon (as root)",
    )
    parser.add_argument(
        "--root", type=Path, default=Path("/"), help="host root for --local (default /)"
    )


def local_operations(args: argparse.Namespace) -> AgentOperations:
    from engine.update.host import HostConfig  # noqa: PLC0415 - lazy: not for --help
    from engine.update.operations import AgentOperations  # noqa: PLC0415 - lazy: not for --help

    return AgentOperations(HostConfig(root=args.root))


def local_agent(ops: AgentOperations, agent: str | None) -> str:
    """The named agent, or the only managed one; it must have an update.yaml (or be the
    managed package agent)."""
    from engine.update.managed import ManagedAgents  # noqa: PLC0415 - lazy: not for --help
    from engine.update.package_agent import PACKAGE_AGENT  # noqa: PLC0415 - lazy: not for --help

    if agent is None:
        names = ManagedAgents(ops.host).names()
        if not names:
            raise ShepherdError(f"no agents under {ops.host.root} (no opt/teleport/*/update.yaml)")
        if len(names) > 1:
            raise InvalidInput(f"name the agent: this host has {len(names)} ({', '.join(names)})")
        agent = names[0]
    if agent == PACKAGE_AGENT and agent in ManagedAgents(ops.host).names():
        return agent  # no update.yaml: its spec is Shepherd's own
    layout = ops.host.layout(agent)
    if not layout.update_yaml.is_file():
        raise InvalidInput(f"no agent {agent!r} on this host: {layout.update_yaml} does not exist")
    return layout.namespace


def local_uid() -> int:
    return os.getuid()
