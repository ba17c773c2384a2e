"""The command line's exit codes, and the text every ``--help`` shows for them."""

from __future__ import annotations

__all__ = [
    "EPILOG",
    "EXIT_BAD_INPUT",
    "EXIT_BUSY",
    "EXIT_DENIED",
    "EXIT_FAILURE",
    "EXIT_NO_DAEMON",
    "EXIT_OK",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2
EXIT_NO_DAEMON = 3
EXIT_DENIED = 4
EXIT_BUSY = 5

EPILOG = """\
exit codes:
  0  success
  1  the operation failed (the message says why; nothing was left half-done)
  2  bad input: a malformed argument, file or setting (the message names it)
  3  the Shepherd daemon is not running or not reachable
  4  permission denied: the action needs the 'shepherd' group or an administrator
  5  busy: another update holds the agent's lock
"""
