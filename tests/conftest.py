"""Shared pytest configuration. Fixture plugins for the real local servers live in
tests/fixtures/ and are registered here, by name, so every test directory can use them; a
missing or renamed module fails the whole run at start-up instead of its fixtures
vanishing."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.network",
    "tests.fixtures.artifacts",
    "tests.fixtures.hostroot",
    "tests.fixtures.sandboxhost",
    "tests.fixtures.daemon",
    "tests.fixtures.systemdhost",
    "tests.fixtures.packages",
    "tests.fixtures.polkit",
    "tests.fixtures.notify",
    "tests.fixtures.debbuild",
    "tests.fixtures.desktop",
]
