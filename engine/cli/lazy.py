"""What the parser names without importing it: each command's implementation, and the
version (``shepherd status`` loads neither another command's module nor the version)."""

from __future__ import annotations

import argparse
import importlib
from typing import Any

__all__ = ["Lazy", "VersionAction"]


class Lazy:
    """A command's implementation, ``engine.cli.<module>.<function>``, imported only when that
    command runs: ``shepherd status`` loads none of the other commands' modules."""

    def __init__(self, module: str, function: str) -> None:
        self.module = module
        self.function = function

    def __call__(self, args: argparse.Namespace) -> int:
        module = importlib.import_module(f"engine.cli.{self.module}")
        result: int = getattr(module, self.function)(args)
        return result


class VersionAction(argparse.Action):
    """``--version``, reading the version only when asked (argparse's own action wants the
    text when the parser is built: reading it costs every command ~30 ms)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "show program's version number and exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from engine.cli.version import version_text  # noqa: PLC0415

        print(version_text())
        parser.exit()
