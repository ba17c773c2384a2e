"""The host options of ``shepherd daemon`` and ``update --local``, and the HostConfig they give."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import InvalidInput

if TYPE_CHECKING:
    from engine.update.host import HostConfig

__all__ = ["add_host_options", "host_config"]


def add_host_options(parser: argparse.ArgumentParser) -> None:
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


def host_config(args: argparse.Namespace) -> HostConfig:
    import logging  # noqa: PLC0415 - lazy: not for --help

    from engine.service.health import HealthConfig  # noqa: PLC0415
    from engine.settings.file import SettingsFile  # noqa: PLC0415
    from engine.update.host import HostConfig, with_settings  # noqa: PLC0415

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
