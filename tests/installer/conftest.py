"""The installer tests share one build per session: PyInstaller, then the .deb, both in a
temporary directory (never dist/), then the .deb unpacked with ``dpkg-deb -x``/``-e``.

``SHEPHERD_TEST_DEB=dist/agent-shepherd_<ver>_<arch>.deb`` tests an existing package
instead of building one (quicker while working on the tests themselves).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.installer)
            # the first test also waits for the session's build
            item.add_marker(pytest.mark.timeout(900))


@dataclass(frozen=True)
class Package:
    deb: Path
    root: Path  # dpkg-deb -x
    control: Path  # dpkg-deb -e
    build_seconds: float | None

    @property
    def app(self) -> Path:
        return self.root / "opt" / "agent-shepherd"


@pytest.fixture(scope="session")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Package]:
    given = os.environ.get("SHEPHERD_TEST_DEB")
    build_seconds = None
    if given:
        deb = Path(given).resolve()
    else:
        if importlib.util.find_spec("PyInstaller") is None:
            pytest.fail("PyInstaller is not installed in the venv (it is in the dev extra)")
        out = tmp_path_factory.mktemp("installer-build")
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "installer.build",
                "deb",
                "--dist",
                str(out / "dist"),
                "--work",
                str(out / "build"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=850,
            check=False,
        )
        build_seconds = time.monotonic() - started
        assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
        debs = sorted((out / "dist").glob("*.deb"))
        assert len(debs) == 1, debs
        deb = debs[0]
    unpacked = tmp_path_factory.mktemp("installer-deb")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked / "root")], check=True)
    subprocess.run(["dpkg-deb", "-e", str(deb), str(unpacked / "DEBIAN")], check=True)
    yield Package(deb, unpacked / "root", unpacked / "DEBIAN", build_seconds)
