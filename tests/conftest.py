"""Shared pytest configuration. Fixture plugins for the real local servers live in
tests/fixtures/ and are registered here so every test directory can use them."""

from __future__ import annotations

import importlib.util

pytest_plugins = [
    name
    for name in (
        "tests.fixtures.network",
        "tests.fixtures.artifacts",
        "tests.fixtures.hostroot",
        "tests.fixtures.sandboxhost",
        "tests.fixtures.daemon",
        "tests.fixtures.systemdhost",
        "tests.fixtures.packages",
        "tests.fixtures.polkit",
    )
    if importlib.util.find_spec(name) is not None
]
