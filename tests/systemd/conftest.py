"""Tests on a real systemd host booted from the cached Debian root (tests/fixtures/systemdhost.py).
The first test of a session may wait minutes for the root to be built once per machine."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.systemd)
            item.add_marker(pytest.mark.timeout(900))
