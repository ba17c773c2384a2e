"""The ``shepherd`` command line: a client of the daemon's API, plus ``update --local`` and
``explain``.
"""

from __future__ import annotations

from engine.cli.main import main

__all__ = ["main"]
