"""The tray app is a thin client: it reaches the engine only through the API client (and
its schema), runs no commands and knows no agent paths."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

GUI = Path(__file__).resolve().parents[2] / "gui"
ALLOWED = {"engine.api.client", "engine.api.schema"}
TYPE_ONLY: set[str] = set()  # modules gui/ may name in annotations only


def imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """(module, under `if TYPE_CHECKING`) for every import."""
    found: list[tuple[str, bool]] = []
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            type_only |= {id(n) for child in node.body for n in ast.walk(child)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, id(node) in type_only) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.module, id(node) in type_only))
    return found


@pytest.mark.parametrize("path", sorted(GUI.rglob("*.py")), ids=lambda p: str(p.relative_to(GUI)))
def test_gui_module_stays_a_thin_client(path: Path) -> None:
    source = path.read_text()
    tree = ast.parse(source)
    for module, type_only in imports(tree):
        if module.startswith("engine"):
            assert module in ALLOWED or (type_only and module in TYPE_ONLY), module
        assert module.split(".")[0] not in {"subprocess", "sandbox"}, module
    assert "/opt/teleport" not in source
    assert "os.system" not in source and "Popen" not in source


@pytest.mark.parametrize(
    "name",
    [
        "viewmodel.py",
        "schedule_model.py",
        "settings_model.py",
        "history_model.py",
        "windows_model.py",
    ],
)
def test_the_models_are_qt_free(name: str) -> None:
    modules = [module for module, _ in imports(ast.parse((GUI / name).read_text()))]
    assert not [m for m in modules if m.startswith(("PySide6", "gui.")) and m != "gui"], modules


ENGINE_INTERNALS = tuple(
    f"engine.{layer}"
    for layer in (
        "policy",
        "sources",
        "store",
        "install",
        "service",
        "settings",
        "update",
        "daemon",
        "cli",
    )
)


def modules_loaded_by(statement: str) -> list[str]:
    """The modules a fresh interpreter holds after ``statement``, importing this tree."""
    root = GUI.parent
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    probe = f"{statement}; import json, sys; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=root, check=True
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_the_api_client_loads_none_of_the_engine_s_internals_nor_yaml() -> None:
    loaded = modules_loaded_by("import engine.api.client")
    assert "engine.api.client" in loaded
    internal = [m for m in loaded if m.startswith(ENGINE_INTERNALS) or m.split(".")[0] == "yaml"]
    assert internal == []


def test_the_api_schema_imports_nothing_else_of_the_engine() -> None:
    loaded = modules_loaded_by("import engine.api.schema")
    assert [m for m in loaded if m.startswith("engine")] == [
        "engine",
        "engine.api",
        "engine.api.schema",
    ]
