"""``shepherd daemon``: run the Shepherd daemon (root), its poll loops and the local API."""

from __future__ import annotations

import argparse

from engine.api.paths import default_socket
from engine.cli.exits import EXIT_OK
from engine.cli.host import host_config

__all__ = ["daemon_command"]


def daemon_command(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415 - lazy: not for --help
    import logging  # noqa: PLC0415
    from datetime import timedelta  # noqa: PLC0415

    from engine.daemon.core import Daemon, DaemonOptions  # noqa: PLC0415
    from engine.daemon.http import Limits  # noqa: PLC0415
    from engine.logs import configure_logging  # noqa: PLC0415
    from engine.settings.file import SettingsFile  # noqa: PLC0415

    configure_logging(args.log_format)
    host = host_config(args)
    host.service_manager()  # fail now, not in the first pass, on a bad --service setup
    options = DaemonOptions(
        socket_path=args.socket or default_socket(),
        group=args.group,
        poll_interval=timedelta(seconds=args.poll_interval) if args.poll_interval else None,
        poll_spread=timedelta(seconds=args.poll_spread),
        first_check=timedelta(seconds=args.first_check),
        limits=Limits(
            read_timeout_seconds=args.request_timeout, head_timeout_seconds=args.head_timeout
        ),
    )
    settings_file = SettingsFile(args.root, args.settings)
    asyncio.run(Daemon(host, options, settings_file=settings_file).run())
    logging.getLogger("shepherd.daemon").info("stopped")
    return EXIT_OK
