"""Every command the parser names lazily (``engine.cli.lazy.Lazy``) exists: its module
imports and has the function (a typo would only show when someone runs that command)."""

from __future__ import annotations

import argparse
import importlib

from engine.cli.lazy import Lazy
from engine.cli.parser import build_parser


def _handlers(parser: argparse.ArgumentParser) -> list[Lazy]:
    found = [h for h in [parser.get_default("handler")] if isinstance(h, Lazy)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _handlers(sub)
    return found


def test_every_lazy_command_names_a_function_that_exists() -> None:
    handlers = _handlers(build_parser())
    assert len(handlers) >= 20
    for handler in handlers:
        module = importlib.import_module(f"engine.cli.{handler.module}")
        assert callable(getattr(module, handler.function, None)), handler.__dict__
