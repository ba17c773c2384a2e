"""update.yaml files in the shapes teleport-update itself writes and reads.

The goldens under ``golden/update_yaml/teleport_format`` were written for these tests from
what teleport-update's encoder produces (Go yaml.v3): 2- or 4-space indent, revisions as
block mappings with flags as a flow list, an empty ``active`` written as ``version: ""``,
times as RFC 3339 with nanoseconds and the writer's zone offset, Go's zero time, the flag
``FIPS`` on its own, fields newer or older than the ones Shepherd models. Each must read,
and writing it back must keep every field Shepherd does not model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.store.update_yaml import load_config, parse_config, render_config, save_config
from engine.versions import Flag, Revision

FORMAT = Path(__file__).parent.parent / "golden" / "update_yaml" / "teleport_format"
NAMES = sorted(p.stem for p in FORMAT.glob("*.yaml"))
ENT = ("Enterprise",)
ENT_FIPS = ("Enterprise", "FIPS")

_KNOWN = {
    (): {"version", "kind", "spec", "status"},
    ("spec",): {"proxy", "path", "group", "base_url", "enabled", "pinned"},
    ("status",): {"id_file", "last_update", "active", "backup", "skip"},
    ("status", "last_update"): {"success", "time", "target"},
}


def unknown_fields(data: dict[str, Any], where: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every key Shepherd does not model, by dotted path, with its value."""
    found: dict[str, Any] = {}
    for key, value in data.items():
        path = (*where, key)
        if key not in _KNOWN[where]:
            found[".".join(path)] = value
        elif path in _KNOWN and isinstance(value, dict):
            found.update(unknown_fields(value, path))
    return found


def test_there_are_teleport_format_goldens() -> None:
    assert len(NAMES) >= 7


@pytest.mark.parametrize("name", NAMES)
def test_reads_and_writes_back_keeping_every_unknown_field(name: str, tmp_path: Path) -> None:
    original = (FORMAT / f"{name}.yaml").read_text()
    config = parse_config(original)
    path = tmp_path / "update.yaml"
    save_config(path, config)
    written = path.read_text()
    again = load_config(path)
    assert again == config
    assert render_config(again) == written  # stable from the first write on
    assert unknown_fields(yaml.safe_load(written)) == unknown_fields(yaml.safe_load(original))


def test_enterprise_fips_values() -> None:
    config = parse_config((FORMAT / "enterprise_fips_after_update.yaml").read_text())
    status = config.status
    assert status.active == Revision.of("17.5.2", *ENT_FIPS)
    assert status.backup == Revision.of("17.4.8", *ENT_FIPS)
    assert status.active is not None and status.active.dir_name == "17.5.2_ent_fips"
    assert status.last_update is not None and status.last_update.success
    assert status.last_update.target == status.active
    assert status.last_update.time == datetime(2025, 6, 30, 12, tzinfo=UTC)
    assert status.id_file == "/var/lib/teleport/teleport-update.id"
    assert config.spec.base_url == "https://artifacts.acme.internal"


def test_four_space_indent_and_a_newer_spec_field() -> None:
    config = parse_config((FORMAT / "four_space_indent_unknown_spec_field.yaml").read_text())
    assert config.spec.pinned and not config.spec.enabled
    assert config.spec.group == "canary"
    assert config.spec.extra == {"selinux_ssh": True}
    assert config.status.active == Revision.of("16.4.6")
    assert "  selinux_ssh: true\n" in render_config(config)


def test_an_empty_active_and_target_mean_none() -> None:
    config = parse_config((FORMAT / "never_installed_empty_revisions.yaml").read_text())
    assert config.status.active is None
    assert config.spec.path == ""
    last = config.status.last_update
    assert last is not None and last.target is None and not last.success
    assert last.time == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_fips_alone_reads_as_the_enterprise_fips_build() -> None:
    # teleport-update names the dir and the tarball of [FIPS] exactly as [Enterprise, FIPS].
    config = parse_config((FORMAT / "fips_flag_alone.yaml").read_text())
    assert config.status.active == Revision.of("17.2.1", *ENT_FIPS)
    assert config.status.active is not None
    assert config.status.active.dir_name == "17.2.1_ent_fips"
    assert config.status.skip == Revision.of("17.3.0", *ENT_FIPS)


def test_local_offset_nanoseconds_and_an_unknown_last_update_field() -> None:
    text = (FORMAT / "failed_update_local_time_nanoseconds.yaml").read_text()
    config = parse_config(text)
    last = config.status.last_update
    assert last is not None
    assert last.time == datetime(2025, 3, 4, 9, 22, 33, 123456, tzinfo=UTC)
    assert last.target == Revision.of("18.0.0-rc.2", *ENT)
    assert last.extra == {"reason": "a field this Shepherd does not know"}
    assert config.status.active == Revision.of("17.4.1", *ENT)
    rendered = render_config(config)
    assert "    time: 2025-03-04T09:22:33.123456Z\n" in rendered
    assert "    reason: a field this Shepherd does not know\n" in rendered


def test_go_zero_time_means_never_and_renders_back_valid() -> None:
    config = parse_config((FORMAT / "go_zero_time.yaml").read_text())
    assert config.status.last_update is not None
    assert config.status.last_update.time is None
    assert parse_config(render_config(config)) == config


def test_early_key_names_are_kept_but_not_guessed_at() -> None:
    # Like teleport-update today, an early file's active_version is not an active revision.
    config = parse_config((FORMAT / "early_teleport_update_keys.yaml").read_text())
    assert config.status.active is None
    assert config.status.extra == {"active_version": "16.3.0", "backup_version": ""}
    assert config.spec.extra == {"url_template": ""}


def test_render_pads_years_below_1000() -> None:
    config = parse_config(
        "version: v1\nkind: update_config\nstatus:\n"
        "  last_update: {success: true, time: 0999-05-06T07:08:09Z}\n"
    )
    assert "time: 0999-05-06T07:08:09Z" in render_config(config)
    assert parse_config(render_config(config)) == config


def test_flags_are_written_in_teleport_order() -> None:
    config = parse_config(
        "version: v1\nkind: update_config\nstatus:\n"
        "  active: {version: 17.0.0, flags: [FIPS, Enterprise]}\n"
    )
    assert config.status.active is not None
    assert config.status.active.ordered_flags == [Flag.ENTERPRISE, Flag.FIPS]
    assert "  active:\n    version: 17.0.0\n    flags: [Enterprise, FIPS]\n" in render_config(
        config
    )
