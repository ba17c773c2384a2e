from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import InvalidInput
from engine.store.layout import Layout, list_namespaces, validate_namespace
from engine.versions import Revision


def test_default_namespace_paths_match_teleport_update() -> None:
    layout = Layout(Path("/"))
    assert layout.versions_dir == Path("/opt/teleport/default/versions")
    assert layout.version_dir(Revision.of("17.2.1", "Enterprise")) == Path(
        "/opt/teleport/default/versions/17.2.1_ent"
    )
    assert layout.update_yaml == Path("/opt/teleport/default/update.yaml")
    assert layout.lock_file == Path("/opt/teleport/default/update.lock")
    assert layout.link_dir == Path("/usr/local/bin")
    assert layout.unit_file == Path("/lib/systemd/system/teleport.service")
    assert layout.agent_config == Path("/etc/teleport.yaml")
    assert layout.data_dir == Path("/var/lib/teleport")
    assert layout.pid_file == Path("/run/teleport.pid")
    assert layout.unit_name == "teleport"


def test_named_namespace_paths_match_teleport_update() -> None:
    layout = Layout(Path("/"), "staging")
    assert layout.versions_dir == Path("/opt/teleport/staging/versions")
    assert layout.update_yaml == Path("/opt/teleport/staging/update.yaml")
    assert layout.lock_file == Path("/opt/teleport/staging/update.lock")
    assert layout.link_dir == Path("/opt/teleport/staging/bin")
    assert layout.unit_file == Path("/etc/systemd/system/teleport_staging.service")
    assert layout.agent_config == Path("/etc/teleport_staging.yaml")
    assert layout.data_dir == Path("/var/lib/teleport_staging")
    assert layout.pid_file == Path("/run/teleport_staging.pid")
    assert layout.unit_name == "teleport_staging"


def test_everything_lives_under_the_root(tmp_path: Path) -> None:
    layout = Layout(tmp_path, "edge")
    for path in (
        layout.update_yaml,
        layout.link_dir,
        layout.unit_file,
        layout.pid_file,
        layout.data_dir,
        layout.agent_config,
        layout.state_dir,
        layout.schedule_file,
    ):
        assert tmp_path in path.parents


@pytest.mark.parametrize("name", ["system", "a_b", "../x", "a b", "a/b", "ünï"], ids=str)
def test_bad_namespace_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="namespace"):
        Layout(Path("/"), name)


def test_empty_namespace_is_default() -> None:
    assert Layout(Path("/"), "").namespace == "default"


def test_list_namespaces_finds_those_with_update_yaml(tmp_path: Path) -> None:
    for name in ("default", "staging", "junk"):
        (tmp_path / "opt/teleport" / name).mkdir(parents=True)
    for name in ("default", "staging"):
        (tmp_path / "opt/teleport" / name / "update.yaml").write_text("version: v1\n")
    assert list_namespaces(tmp_path) == ["default", "staging"]
    assert list_namespaces(tmp_path / "nothing") == []


@pytest.mark.parametrize("name", ["ns\n", "default\n", " ns"])
def test_namespaces_with_stray_whitespace_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid agent namespace"):
        validate_namespace(name)


def test_a_namespace_too_long_for_a_directory_or_unit_name_is_refused_naming_its_length() -> None:
    assert validate_namespace("a" * 100) == "a" * 100
    with pytest.raises(InvalidInput, match=r"\(101 characters\): at most 100"):
        validate_namespace("a" * 101)
