"""update.yaml: byte-exact goldens, real teleport-update files, strictness where it matters."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.errors import StateError
from engine.store.update_yaml import (
    LastUpdate,
    UpdateConfig,
    UpdateSpec,
    UpdateStatus,
    load_config,
    parse_config,
    render_config,
    save_config,
)
from engine.versions import Revision

GOLDEN = Path(__file__).parent.parent / "golden" / "update_yaml"
ENT = ("Enterprise",)


@pytest.mark.parametrize(
    "name", ["protocol_example", "minimal", "community_fips_namespace"], ids=str
)
def test_goldens_parse_and_rerender_byte_for_byte(name: str) -> None:
    text = (GOLDEN / f"{name}.yaml").read_text()
    assert render_config(parse_config(text)) == text


def test_protocol_example_values() -> None:
    config = parse_config((GOLDEN / "protocol_example.yaml").read_text())
    assert config.spec == UpdateSpec(
        proxy="example.teleport.sh:443",
        path="/usr/local/bin",
        group="staging",
        base_url="https://mirror.example.com",
        enabled=True,
        pinned=False,
    )
    assert config.status.last_update == LastUpdate(
        success=False,
        time=datetime(2025, 1, 1, tzinfo=UTC),
        target=Revision.of("17.2.1", *ENT),
    )
    assert config.status.active == Revision.of("17.1.0", *ENT)
    assert config.status.backup == Revision.of("17.0.5", *ENT)
    assert config.status.skip == Revision.of("17.2.1", *ENT)


def test_built_config_renders_as_the_golden() -> None:
    config = UpdateConfig(
        spec=UpdateSpec(
            proxy="example.teleport.sh:443",
            path="/usr/local/bin",
            group="staging",
            base_url="https://mirror.example.com",
            enabled=True,
        ),
        status=UpdateStatus(
            id_file="/var/lib/teleport/teleport-update.id",
            last_update=LastUpdate(
                False, datetime(2025, 1, 1, tzinfo=UTC), Revision.of("17.2.1", *ENT)
            ),
            active=Revision.of("17.1.0", *ENT),
            backup=Revision.of("17.0.5", *ENT),
            skip=Revision.of("17.2.1", *ENT),
        ),
    )
    assert render_config(config) == (GOLDEN / "protocol_example.yaml").read_text()


def test_a_file_written_by_teleport_update_is_read_and_its_unknown_keys_kept() -> None:
    config = parse_config((GOLDEN / "teleport_written.yaml").read_text())
    assert config.spec.proxy == "proxy.example.com"
    assert config.spec.path == ""
    assert config.status.active == Revision.of("17.2.1", *ENT)
    assert config.status.last_update is not None
    assert config.status.last_update.success
    assert config.status.last_update.time == datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    rendered = render_config(config)
    assert "url_template" in rendered
    again = parse_config(rendered)
    assert again == config
    assert again.spec.extra == {"url_template": ""}


def test_values_that_yaml_would_misread_are_quoted() -> None:
    config = UpdateConfig(spec=UpdateSpec(proxy="host: 1", group="on", path="/x #y"))
    rendered = render_config(config)
    assert 'group: "on"' in rendered
    assert parse_config(rendered).spec == config.spec


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("version: v2\nkind: update_config\n", "invalid"),
        ("version: v1\nkind: something_else\n", "invalid"),
        ("kind: update_config\n", "invalid"),
        ("- a\n- b\n", "invalid"),
        ("version: v1\nkind: update_config\nspec: [1]\n", "'spec'"),
        ("version: v1\nkind: update_config\nspec: {enabled: 'yes'}\n", "spec.enabled"),
        ("version: v1\nkind: update_config\nspec: {proxy: 5}\n", "spec.proxy"),
        ("version: v1\nkind: update_config\nstatus: {active: {version: ../etc}}\n", "../etc"),
        (
            "version: v1\nkind: update_config\nstatus: {active: {version: 1.2.3, flags: [Gold]}}\n",
            "'Gold'",
        ),
        ("version: v1\nkind: update_config\nstatus: {last_update: {time: tomorrow}}\n", "tomorrow"),
        ("version: v1\nkind: update_config\nspec: {proxy: [\n", "not YAML"),
    ],
    ids=[
        "version v2",
        "other kind",
        "no version",
        "not a mapping",
        "spec not a mapping",
        "enabled not bool",
        "proxy not string",
        "version unusable as a dir name",
        "unknown flag",
        "bad time",
        "broken yaml",
    ],
)
def test_invalid_files_are_refused_naming_the_problem(text: str, words: str) -> None:
    with pytest.raises(StateError, match=words):
        parse_config(text)


def test_missing_file_is_none_and_empty_revision_is_none(tmp_path: Path) -> None:
    assert load_config(tmp_path / "update.yaml") is None
    text = "version: v1\nkind: update_config\nstatus: {backup: {version: ''}}\n"
    assert parse_config(text).status.backup is None


def test_save_is_atomic_0644_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "opt/teleport/default/update.yaml"
    config = parse_config((GOLDEN / "minimal.yaml").read_text())
    save_config(path, config)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert load_config(path) == config
    assert sorted(p.name for p in path.parent.iterdir()) == ["update.yaml"]


def test_a_failed_save_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "update.yaml"
    old = parse_config((GOLDEN / "minimal.yaml").read_text())
    save_config(path, old)
    before = path.read_bytes()
    big = old.with_spec(group="g" * 4000)
    # A real write failure: the file size limit makes the temp file write fail (EFBIG).
    script = (
        "import resource, signal, sys\n"
        "from pathlib import Path\n"
        "from engine.store.update_yaml import load_config, save_config\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))\n"
        f"cfg = load_config(Path({str(path)!r})).with_spec(group={big.spec.group!r})\n"
        f"save_config(Path({str(path)!r}), cfg)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert result.returncode != 0
    assert "File too large" in result.stderr
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["update.yaml"]


def test_an_impossible_date_is_an_invalid_file_not_a_crash() -> None:
    text = (
        "version: v1\nkind: update_config\nspec:\n  proxy: p:443\nstatus:\n"
        "  last_update:\n    success: true\n    time: 2025-02-30T00:00:00Z\n"
    )
    with pytest.raises(StateError, match=r"invalid update\.yaml"):
        parse_config(text)


TELEPORT_SHAPED = sorted((GOLDEN / "teleport_update").glob("*.yaml"))


@pytest.mark.parametrize("path", TELEPORT_SHAPED, ids=lambda p: p.stem)
def test_an_untouched_teleport_update_file_is_rewritten_byte_for_byte(path: Path) -> None:
    """Files in the shape teleport-update's encoder writes (modelled on the goldens in
    Teleport's lib/autoupdate/agent/testdata): block revisions, ``path: ""``, an empty
    ``active`` as ``version: ""``."""
    text = path.read_text()
    assert render_config(parse_config(text)) == text


def test_nothing_active_is_written_as_teleport_update_writes_it() -> None:
    rendered = render_config(UpdateConfig())
    assert rendered == (GOLDEN / "teleport_update" / "nothing_installed_yet.yaml").read_text()
    assert parse_config(rendered).status.active is None


def test_a_non_semver_active_or_backup_is_shown_and_kept() -> None:
    """Teleport stores any string as a version (its own goldens have ``old-version``)."""
    text = (
        "version: v1\nkind: update_config\nspec:\n  proxy: localhost\n  path: /usr/local/bin\n"
        "  enabled: true\n  pinned: false\nstatus:\n  active:\n    version: 17.3.2\n"
        "  backup:\n    version: old-version\n    flags: [Enterprise, FIPS]\n"
    )
    config = parse_config(text)
    assert config.status.backup is not None
    assert str(config.status.backup.version) == "old-version"
    assert config.status.backup.dir_name == "old-version_ent_fips"  # as teleport-update names it
    assert not config.status.backup.version.is_semver
    assert config.status.active is not None
    assert config.status.backup.version < config.status.active.version
    assert render_config(config) == text
