"""Shared pytest configuration. Fixture plugins for the real local servers live in
tests/fixtures/ and are registered here, by name, so every test directory can use them; a
missing or renamed module fails the whole run at start-up instead of its fixtures
vanishing."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    "tests.fixtures.gpg_agents",
]


# The slowest tests first (booted systemd hosts, the package build and its checks, then the
# real-daemon tests), so that pytest-xdist's workers (`make test` runs several, handed one
# test at a time) start the long ones at once and the quick unit tests fill the end; the
# order within a folder stays. The booted-host tests that need the built packages come
# after the others: the controller builds them meanwhile (tests/fixtures/debbuild.py).
_FOLDERS_SLOWEST_FIRST = ("systemd", "installer", "integration", "gui", "unit")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent

    def rank(item: pytest.Item) -> tuple[int, bool]:
        folder = Path(item.path).relative_to(tests).parts[0]
        if folder in _FOLDERS_SLOWEST_FIRST:
            return _FOLDERS_SLOWEST_FIRST.index(folder), "built_debs" in item.fixturenames
        return len(_FOLDERS_SLOWEST_FIRST), False

    items.sort(key=rank)
