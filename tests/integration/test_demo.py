"""The README's demo command runs the whole story and ends with the expected host."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engine.store.update_yaml import load_config

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _without_a_desktop() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY"}}


def test_the_demo_tells_the_whole_story(tmp_path: Path) -> None:
    work = Path("/tmp") / f"shd-{tmp_path.name[-12:]}"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.demo", "--keep", "--workdir", str(work)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=REPO,
        env=_without_a_desktop(),
    )
    try:
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        assert "decision:   nothing (outside-cluster-window)" in out
        assert "result:     ok: updated 17.1.0 -> 17.2.1" in out
        assert "rolled back 17.2.1 -> 17.1.0; 17.2.1 is remembered as bad" in out
        assert "17.3.0 failed its health check" in out and "rolled back to 17.1.0" in out
        config = load_config(work / "host/opt/teleport/default/update.yaml")
        assert config is not None
        assert str(config.status.active) == "17.1.0"
        assert str(config.status.skip) == "17.3.0"
        assert "tray app" not in out and not (work / "tray.log").exists()  # no desktop
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_with_a_desktop_the_demo_shows_the_tray_app_beside_it(tmp_path: Path) -> None:
    """Xvfb (no panel: the tray shows its window) stands in for the newcomer's desktop."""
    from scripts.tray_screenshot import xvfb  # noqa: PLC0415 - imports Qt

    work = Path("/tmp") / f"sht-{tmp_path.name[-12:]}"
    env = {**_without_a_desktop(), "XDG_RUNTIME_DIR": str(tmp_path)}
    env.pop("QT_QPA_PLATFORM", None)
    try:
        with xvfb(env) as display:
            done = subprocess.run(
                [sys.executable, "-m", "sandbox.demo", "--keep", "--workdir", str(work)],
                capture_output=True, text=True, timeout=600, check=False, cwd=REPO,
                env={**env, "DISPLAY": display},
            )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert "The tray app tells the same story on your desktop" in done.stdout
        log = (work / "tray.log").read_text()
        assert "showing" in log, log  # it reached the demo's daemon and showed its state
        assert not list((work / "tray-runtime").glob("*.sock"))  # stopped with the demo
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_the_package_demo_updates_a_package_agent_with_apt(tmp_path: Path) -> None:
    work = Path("/tmp") / f"shp-{tmp_path.name[-12:]}"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.demo", "--package", "--workdir", str(work)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "package: package teleport 17.2.1 (dpkg), held, from https://" in out
    assert "result:     ok: teleport 17.3.0 installed and healthy" in out
    assert "teleport 17.4.0 failed its health check" in out
    assert "rolled back to 17.3.0" in out
    assert "package: package teleport 17.3.0 (dpkg), held" in out
    assert not work.exists()
