"""``shepherd --help`` and the commands that ask the daemon start fast: the parser, the help
text and the API client load none of the heavy libraries (httpx, YAML, the keyring backends,
asyncio, the daemon): the client speaks HTTP over the socket with the standard library, and
each command imports its implementation when it runs (issue 17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("httpx", "httpcore", "yaml", "keyring", "jeepney", "secretstorage", "asyncio", "rich")
HEAVY_ENGINE = ("engine.daemon", "engine.update", "engine.settings", "engine.sources")


def modules_after(code: str) -> list[str]:
    """The modules a fresh interpreter holds after running ``code`` (its own output goes to
    stdout; the module list comes back on stderr's last line)."""
    loaded_names = "sorted(name for name, module in sys.modules.items() if module)"
    probe = f"import json, sys\n{code}\nprint(json.dumps({loaded_names}), file=sys.stderr)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    loaded: list[str] = json.loads(result.stderr.strip().splitlines()[-1])
    return loaded


def heavy(loaded: list[str]) -> list[str]:
    return [m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY_ENGINE)]


def test_importing_the_parser_loads_no_heavy_library() -> None:
    loaded = modules_after("import engine.cli.parser, engine.cli.main")
    assert "engine.cli.parser" in loaded
    assert heavy(loaded) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["status", "--help"],
        ["daemon", "--help"],
        ["settings", "set", "--help"],
        ["install", "--help"],
    ],
    ids=["shepherd --help", "status --help", "daemon --help", "settings set --help", "install"],
)
def test_help_loads_no_heavy_library(argv: list[str]) -> None:
    code = (
        "from engine.cli.main import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
    )
    loaded = modules_after(code)
    assert heavy(loaded) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["status"],
        ["status", "default"],
        ["explain", "--agent", "default"],
        ["pin", "default"],
        ["update", "default", "--now"],
        ["history"],
        ["settings", "get"],
        ["agents"],
    ],
    ids=lambda argv: "shepherd " + " ".join(argv),
)
def test_a_command_that_asks_the_daemon_loads_no_heavy_library(argv: list[str]) -> None:
    """The command runs (it reaches for the API client and says the daemon is not running
    when nothing listens), without httpx or any other heavy module: the client speaks HTTP
    with the standard library (engine.api.wire), and not even ssl is loaded."""
    code = (
        "from engine.cli.main import main\n"
        f"assert main(['--socket', '/nonexistent/shepherd.sock', *{argv!r}]) == 3\n"
    )
    loaded = modules_after(code)
    assert "engine.api.client" in loaded and "engine.api.wire" in loaded
    assert "httpx" not in loaded and "ssl" not in loaded
    assert "rich" not in loaded  # httpx's own command line stays unloaded (engine/__init__)
    assert "engine.api.client" in loaded
    assert heavy(loaded) == []


def test_only_the_command_that_runs_is_imported() -> None:
    loaded = modules_after(
        "from engine.cli.main import main\nmain(['--socket', '/nonexistent/s.sock', 'status'])"
    )
    assert "engine.cli.status" in loaded
    others = ("operate", "settings", "notify", "agents", "history", "explain", "daemon", "local")
    assert [
        m for m in loaded if m.rsplit(".", 1)[-1] in others and m.startswith("engine.cli")
    ] == []
