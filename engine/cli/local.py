"""``shepherd update --local``: one pass in this process, without the daemon (as root, e.g.
from a timer)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from engine.cli.exits import EXIT_FAILURE, EXIT_OK
from engine.cli.host import host_config
from engine.cli.view import ProgressPrinter, print_json, print_pass
from engine.errors import InvalidInput, ShepherdError

__all__ = ["update_local"]


def update_local(args: argparse.Namespace) -> int:
    from engine.update.managed import ManagedAgents  # noqa: PLC0415 - lazy: not for --help
    from engine.update.report import pass_json  # noqa: PLC0415 - lazy: not for --help

    host = host_config(args)
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
            data = pass_json(result, dry_run=args.dry_run)
            results.append(data)
            failed = failed or result.failed
            if not args.json:
                print_pass(data)
    if args.json:
        print_json(results if not args.agent else results[0])
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
