"""What every benchmark reports: a figure, the baseline measured in the same run, the ratio
and its target, and the machine's load when it was measured (other work shares the cores).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Figure", "load", "print_table"]


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f}/{five:.2f}"


@dataclass(frozen=True)
class Figure:
    """``ratio`` is value / baseline (or what the figure says); ``passed`` None: no target."""

    name: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None
    load: str = field(default_factory=load)


def print_table(figures: Sequence[Figure], *, markdown: bool = True) -> None:
    header = ("figure", "value", "baseline (same run)", "ratio", "target", "pass", "load 1/5 min")
    rows = [
        (
            f.name,
            f.value,
            f.baseline,
            "—" if f.ratio is None else f"{f.ratio:.3g}",
            f.target,
            "—" if f.passed is None else ("pass" if f.passed else "FAIL"),
            f.load,
        )
        for f in figures
    ]
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
        return
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
