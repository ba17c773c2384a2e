"""resolve_layout: the link dir from update.yaml's spec.path and the data dir from the agent
config's teleport.data_dir, as teleport-update reads them; defaults whenever they are absent,
and never a crash on a broken file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from engine.install.links import rewrite_unit
from engine.store.layout import Layout, _host_path, resolve_layout
from engine.store.update_yaml import UpdateConfig, UpdateSpec, save_config

UNIT = (
    b"[Service]\n"
    b"ExecStart=/usr/local/bin/teleport start --config /etc/teleport.yaml "
    b"--pid-file=/run/teleport.pid\n"
)


def write_update_yaml(root: Path, path: str, namespace: str = "default") -> None:
    save_config(
        Layout(root, namespace).update_yaml,
        UpdateConfig(spec=UpdateSpec(proxy="example.com:443", path=path, enabled=True)),
    )


def write_agent_config(root: Path, text: str, namespace: str = "default") -> Path:
    path = Layout(root, namespace).agent_config
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_without_update_yaml_or_agent_config_the_defaults_stand(tmp_path: Path) -> None:
    for namespace in ("default", "blue"):
        layout = resolve_layout(tmp_path, namespace)
        assert layout == Layout(tmp_path, namespace)
        assert layout.link_dir == Layout(tmp_path, namespace).default_link_dir
        assert layout.data_dir == Layout(tmp_path, namespace).default_data_dir


def test_a_host_path_in_spec_path_is_placed_under_the_root(tmp_path: Path) -> None:
    write_update_yaml(tmp_path, "/opt/tp/bin")
    layout = resolve_layout(tmp_path, "default")
    assert layout.link_dir == tmp_path / "opt/tp/bin"
    assert layout.link_dir_override == tmp_path / "opt/tp/bin"
    assert layout.data_dir == tmp_path / "var/lib/teleport"  # untouched
    assert Layout.resolve(tmp_path, "default") == layout


def test_a_root_prefixed_spec_path_is_not_prefixed_twice(tmp_path: Path) -> None:
    write_update_yaml(tmp_path, str(tmp_path / "opt/tp/bin"), "blue")
    assert resolve_layout(tmp_path, "blue").link_dir == tmp_path / "opt/tp/bin"


def test_at_the_real_root_host_paths_are_used_as_they_are() -> None:
    real = Layout(Path("/"))
    assert _host_path(real, "/opt/tp/bin", "spec.path", real.update_yaml) == Path("/opt/tp/bin")
    assert _host_path(real, "/srv/tp/", "teleport.data_dir", real.agent_config) == Path("/srv/tp")


def test_a_spec_path_cannot_climb_out_of_the_test_root(tmp_path: Path) -> None:
    root = tmp_path / "host"
    write_update_yaml(root, f"{root}/../../etc/bin")
    link_dir = resolve_layout(root, "default").link_dir
    assert link_dir.is_relative_to(root)
    assert ".." not in link_dir.parts


def test_spec_path_naming_the_default_link_dir_is_no_override(tmp_path: Path) -> None:
    write_update_yaml(tmp_path, "/usr/local/bin")
    write_update_yaml(tmp_path, "/opt/teleport/blue/bin", "blue")
    assert resolve_layout(tmp_path, "default") == Layout(tmp_path)
    assert resolve_layout(tmp_path, "blue") == Layout(tmp_path, "blue")


@pytest.mark.parametrize("path", ["", "   "])
def test_an_empty_spec_path_means_the_default_link_dir(tmp_path: Path, path: str) -> None:
    write_update_yaml(tmp_path, path, "blue")
    assert resolve_layout(tmp_path, "blue").link_dir == tmp_path / "opt/teleport/blue/bin"


def test_a_relative_spec_path_is_ignored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_update_yaml(tmp_path, "bin")
    with caplog.at_level(logging.WARNING, logger="engine.store.layout"):
        layout = resolve_layout(tmp_path, "default")
    assert layout.link_dir == tmp_path / "usr/local/bin"
    assert "not an absolute path" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        "version: v1\nkind: update_config\nspec: [unclosed\n",
        "version: v9\nkind: update_config\n",
        "- just\n- a list\n",
        "version: v1\nkind: update_config\nspec:\n  when: 2026-13-45\n",
    ],
    ids=["not-yaml", "wrong-version", "not-a-mapping", "impossible-date"],
)
def test_a_malformed_update_yaml_keeps_the_default_link_dir_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    layout = Layout(tmp_path)
    layout.update_yaml.parent.mkdir(parents=True)
    layout.update_yaml.write_text(text)
    write_agent_config(tmp_path, "teleport:\n  data_dir: /srv/tp\n")
    with caplog.at_level(logging.WARNING, logger="engine.store.layout"):
        resolved = resolve_layout(tmp_path, "default")
    assert resolved.link_dir == tmp_path / "usr/local/bin"
    assert resolved.data_dir == tmp_path / "srv/tp"  # the other file still counts
    assert "spec.path" in caplog.text


def test_a_custom_data_dir_moves_the_debug_socket_host_uuid_and_id_file(tmp_path: Path) -> None:
    write_agent_config(
        tmp_path,
        "version: v3\nteleport:\n  nodename: n1\n  data_dir: /srv/tp-data\n"
        "  proxy_server: example.com:443\nssh_service:\n  enabled: true\n",
    )
    layout = resolve_layout(tmp_path, "default")
    data = tmp_path / "srv/tp-data"
    assert layout.data_dir == data
    assert layout.data_dir_override == data
    assert layout.debug_socket == data / "debug.sock"
    assert layout.host_uuid_file == data / "host_uuid"
    assert layout.id_file == data / "teleport-update.id"
    assert layout.link_dir == tmp_path / "usr/local/bin"  # untouched


def test_a_namespace_reads_its_own_agent_config(tmp_path: Path) -> None:
    write_agent_config(tmp_path, "teleport:\n  data_dir: /srv/default\n")
    write_agent_config(tmp_path, f"teleport:\n  data_dir: {tmp_path}/srv/blue\n", "blue")
    assert resolve_layout(tmp_path, "default").data_dir == tmp_path / "srv/default"
    assert resolve_layout(tmp_path, "blue").data_dir == tmp_path / "srv/blue"
    assert resolve_layout(tmp_path, "green").data_dir == tmp_path / "var/lib/teleport_green"


def test_only_the_first_yaml_document_of_the_agent_config_counts(tmp_path: Path) -> None:
    write_agent_config(
        tmp_path, "teleport:\n  data_dir: /srv/first\n---\nteleport:\n  data_dir: /srv/second\n"
    )
    assert resolve_layout(tmp_path, "default").data_dir == tmp_path / "srv/first"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# nothing here\n",
        "version: v3\nssh_service:\n  enabled: true\n",
        "teleport:\n  nodename: n1\n",
        "teleport:\n",
        "teleport:\n  data_dir: ''\n",
        "teleport:\n  data_dir:\n",
    ],
    ids=["empty", "comment", "no-teleport", "no-data-dir", "null-teleport", "empty", "null"],
)
def test_an_agent_config_without_data_dir_keeps_the_default_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    write_agent_config(tmp_path, text, "blue")
    with caplog.at_level(logging.WARNING, logger="engine.store.layout"):
        layout = resolve_layout(tmp_path, "blue")
    assert layout.data_dir == tmp_path / "var/lib/teleport_blue"
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("teleport:\n  data_dir: [unclosed\n", "not valid YAML"),
        ("teleport: {data_dir: /srv/tp\n", "not valid YAML"),
        ("teleport:\n  data_dir: /srv/tp\n  since: 2026-02-30\n", "not valid YAML"),
        ("- teleport\n", "not a mapping"),
        ("teleport: /srv/tp\n", "not a mapping"),
        ("teleport:\n  data_dir: 42\n", "not a string"),
        ("teleport:\n  data_dir: [/srv/tp]\n", "not a string"),
        ("teleport:\n  data_dir: srv/tp\n", "not an absolute path"),
        ("\tteleport:\n", "not valid YAML"),
    ],
)
def test_a_malformed_agent_config_keeps_the_default_data_dir_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, says: str
) -> None:
    write_agent_config(tmp_path, text)
    with caplog.at_level(logging.WARNING, logger="engine.store.layout"):
        layout = resolve_layout(tmp_path, "default")
    assert layout.data_dir == tmp_path / "var/lib/teleport"
    assert says in caplog.text


def test_an_unreadable_agent_config_keeps_the_default_data_dir_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Layout(tmp_path).agent_config.mkdir(parents=True)  # a directory where the file should be
    with caplog.at_level(logging.WARNING, logger="engine.store.layout"):
        layout = resolve_layout(tmp_path, "default")
    assert layout.data_dir == tmp_path / "var/lib/teleport"
    assert "cannot read the agent config" in caplog.text


def test_an_oversized_agent_config_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_agent_config(tmp_path, "teleport:\n  data_dir: /srv/tp\n" + "#" * (1 << 20))
    with caplog.at_level(logging.WARNING, logger="engine.store.layout"):
        layout = resolve_layout(tmp_path, "default")
    assert layout.data_dir == tmp_path / "var/lib/teleport"
    assert "over 1 MiB" in caplog.text


def test_the_copied_unit_runs_teleport_from_the_custom_link_dir() -> None:
    layout = Layout(Path("/"), link_dir_override=Path("/opt/tp/bin"))
    assert rewrite_unit(UNIT, layout) == UNIT.replace(b"/usr/local/bin/", b"/opt/tp/bin/")
    blue = Layout(Path("/"), "blue", link_dir_override=Path("/opt/tp/bin"))
    assert rewrite_unit(UNIT, blue) == (
        b"[Service]\n"
        b"ExecStart=/opt/tp/bin/teleport start --config /etc/teleport_blue.yaml "
        b"--pid-file=/run/teleport_blue.pid\n"
    )


def test_overrides_keep_the_layout_frozen_and_hashable(tmp_path: Path) -> None:
    layout = Layout(tmp_path, link_dir_override=tmp_path / "b", data_dir_override=tmp_path / "d")
    with pytest.raises(AttributeError):
        layout.link_dir_override = None  # type: ignore[misc]
    assert {layout, Layout(tmp_path)} == {Layout(tmp_path), layout}
    assert layout != Layout(tmp_path)
