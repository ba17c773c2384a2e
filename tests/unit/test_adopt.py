from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from engine.install.adopt import inspect_namespace
from engine.store.layout import Layout
from engine.versions import Revision


def test_a_teleport_update_namespace_is_recognised_without_changes(
    teleport_update_host: Callable[..., Layout],
) -> None:
    layout = teleport_update_host(edition="ent")
    before = {p: p.stat().st_mtime_ns for p in layout.root.rglob("*") if not p.is_symlink()}
    report = inspect_namespace(layout)
    assert report.managed
    assert report.healthy, report.problems
    assert report.active == Revision.of("17.1.0", "Enterprise")
    assert report.linked == "17.1.0_ent"
    assert set(report.installed) == {
        Revision.of("17.1.0", "Enterprise"),
        Revision.of("17.0.5", "Enterprise"),
    }
    after = {p: p.stat().st_mtime_ns for p in layout.root.rglob("*") if not p.is_symlink()}
    assert after == before


def test_a_named_namespace_is_recognised(teleport_update_host: Callable[..., Layout]) -> None:
    layout = teleport_update_host(namespace="staging", backup=None)
    report = inspect_namespace(layout)
    assert report.healthy
    assert report.namespace == "staging"


def test_a_missing_backup_dir_is_tolerated(teleport_update_host: Callable[..., Layout]) -> None:
    layout = teleport_update_host()
    shutil.rmtree(layout.versions_dir / "17.0.5")
    report = inspect_namespace(layout)
    assert report.healthy
    assert "no longer installed" in report.notes[0]


def test_problems_are_reported(teleport_update_host: Callable[..., Layout]) -> None:
    layout = teleport_update_host()
    (layout.link_dir / "teleport").unlink()
    assert "points to nothing" in inspect_namespace(layout).problems[0]
    (layout.versions_dir / "17.1.0" / "sha256").unlink()
    assert "not installed completely" in inspect_namespace(layout).problems[0]
    layout.update_yaml.write_text("version: v9\nkind: update_config\n")
    report = inspect_namespace(layout)
    assert not report.managed
    assert "invalid" in report.problems[0]


def test_an_empty_root_is_not_managed(tmp_path: Path) -> None:
    report = inspect_namespace(Layout(tmp_path))
    assert not report.managed
