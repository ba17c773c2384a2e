"""``python -m sandbox.demo --systemd`` tells the whole story on a booted systemd host."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_systemd_demo_tells_the_whole_story(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sandbox.demo", "--systemd", "--workdir", str(tmp_path / "w")],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=REPO,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "decision:   nothing (outside-cluster-window)" in out
    assert "result:     ok: updated 17.1.0 -> 17.2.1" in out
    assert "rolled back 17.2.1 -> 17.1.0; 17.2.1 is remembered as bad" in out
    assert "17.3.0 failed its health check" in out and "rolled back to 17.1.0" in out
    assert out.count("ActiveState=active") >= 3  # systemd's own view after each step
