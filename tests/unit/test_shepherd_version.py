"""Where Shepherd finds its own version: the frozen build's ``engine/VERSION`` beside the
modules, else the source tree's ``pyproject.toml``; and the tray's start-up does not pay
for ``importlib.metadata`` (~3 MB resident) to learn it."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import engine.about
from engine.about import shepherd_version

REPO = Path(__file__).resolve().parents[2]


def _about_copy(package: Path) -> object:
    package.mkdir(parents=True)
    shutil.copy(engine.about.__file__, package / "about.py")
    spec = importlib.util.spec_from_file_location("copied_about", package / "about.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_source_tree_says_its_pyproject_version() -> None:
    with (REPO / "pyproject.toml").open("rb") as stream:
        assert shepherd_version() == tomllib.load(stream)["project"]["version"]


def test_a_frozen_build_reads_the_version_file_beside_the_package(tmp_path: Path) -> None:
    package = tmp_path / "_internal" / "engine"
    about = _about_copy(package)
    (package / "VERSION").write_text("9.8.7\n")
    assert about.shepherd_version() == "9.8.7"  # type: ignore[attr-defined]


def test_without_any_source_it_says_unknown_or_the_installed_metadata(tmp_path: Path) -> None:
    about = _about_copy(tmp_path / "elsewhere" / "engine")
    assert about.shepherd_version() in ("unknown", shepherd_version())  # type: ignore[attr-defined]


def test_the_tray_starts_without_importlib_metadata() -> None:
    probe = "import sys, gui.app; print('importlib.metadata' in sys.modules)"
    shown = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert shown.stdout.strip() == "False"
