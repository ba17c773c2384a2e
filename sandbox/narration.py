"""The demos' banner: one style for the supervisord and the systemd story."""

from __future__ import annotations

import textwrap

__all__ = ["say"]


def say(text: str) -> None:
    print("\n" + "=" * 78)
    print(textwrap.fill(text, 78))
    print("=" * 78, flush=True)
