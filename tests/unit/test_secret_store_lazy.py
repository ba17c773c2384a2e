"""A daemon with no secrets stored never loads keyring (~2 MB resident; ``GET /v1`` asks
which secrets are stored on every call), and one with secrets stored reads them as before."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
from pathlib import Path
from engine.settings.secrets import open_store

store = open_store("file", root=Path(sys.argv[1]))
print(sorted(store.status(("staging",)).items()))
print("keyring loaded" if "keyring" in sys.modules else "keyring not loaded")
if sys.argv[2] == "store":
    store.set("proxy-password", "pw-" + "unit")
    print(store.is_set("proxy-password"), "keyring" in sys.modules)
"""


def run(root: Path, action: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(root), action],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout.splitlines()


def test_an_empty_file_store_answers_without_loading_keyring(tmp_path: Path) -> None:
    lines = run(tmp_path, "look")
    assert "True" not in lines[0]  # nothing stored
    assert lines[1] == "keyring not loaded"
    assert not (tmp_path / "var").exists()  # and nothing created on disk


def test_a_stored_secret_is_read_through_keyring_as_before(tmp_path: Path) -> None:
    assert run(tmp_path, "store")[2] == "True True"
    lines = run(tmp_path, "look")  # a fresh process: the store exists now
    assert "('proxy-password', True)" in lines[0]
    assert lines[1] == "keyring loaded"
