"""The ``shepherd`` command line: a client of the daemon's local API, plus the daemon itself,
a one-shot local pass for timer jobs, and the offline policy explainer.

The parser is in ``parser``, each command group in its own module; here errors become exit
codes (``exits``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from engine.api.errors import ApiError, DaemonUnavailable
from engine.cli.exits import (
    EXIT_BAD_INPUT,
    EXIT_BUSY,
    EXIT_DENIED,
    EXIT_FAILURE,
    EXIT_NO_DAEMON,
    EXIT_OK,
)
from engine.cli.parser import build_parser
from engine.errors import LockTimeout, ShepherdError

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
        if e.status == 503 or (e.status == 409 and "lock" in e.message):
            return EXIT_BUSY
        return EXIT_FAILURE
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


if __name__ == "__main__":
    sys.exit(main())
