"""update.yaml and the agent record, parsed once per file change: the C loader reads every
golden exactly as the pure one does, and the cache sees every kind of change."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from engine.errors import StateError
from engine.store import update_yaml
from engine.store.agent_record import AgentRecord, BadRevision, save_agent_record
from engine.store.cache import FileCache, RecordCache
from engine.store.layout import Layout
from engine.store.update_yaml import SAFE_LOADER, parse_config, render_config, save_config

GOLDEN = Path(__file__).parent.parent / "golden" / "update_yaml"
GOLDENS = sorted(GOLDEN.rglob("*.yaml"))
HAS_LIBYAML = bool(getattr(yaml, "__with_libyaml__", False))


def test_the_c_loader_is_used_where_libyaml_is_present() -> None:
    assert SAFE_LOADER is (yaml.CSafeLoader if HAS_LIBYAML else yaml.SafeLoader)


@pytest.mark.skipif(not HAS_LIBYAML, reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", GOLDENS, ids=[str(p.relative_to(GOLDEN)) for p in GOLDENS])
def test_the_c_and_pure_loaders_agree_on_every_golden(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = path.read_text()
    pure = yaml.load(text, Loader=yaml.SafeLoader)
    fast = yaml.load(text, Loader=yaml.CSafeLoader)
    assert fast == pure
    assert repr(fast) == repr(pure)  # same types and key order, not only equal values
    with_c = parse_config(text)
    monkeypatch.setattr(update_yaml, "SAFE_LOADER", yaml.SafeLoader)
    with_pure = parse_config(text)
    assert repr(with_c) == repr(with_pure)
    assert asdict(with_c) == asdict(with_pure)
    assert render_config(with_c) == render_config(with_pure)


@pytest.mark.skipif(not HAS_LIBYAML, reason="PyYAML built without libyaml")
@pytest.mark.parametrize(
    "text",
    ["version: v1\nkind: update_config\nspec: {proxy: [\n", "a: b: c\n", "\tversion: v1\n"],
    ids=["unclosed flow", "nested colon", "tab indent"],
)
def test_both_loaders_refuse_broken_yaml(text: str) -> None:
    for loader in (yaml.SafeLoader, yaml.CSafeLoader):
        with pytest.raises(yaml.YAMLError):
            yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    with pytest.raises(StateError, match="not YAML"):
        parse_config(text)


def counting(calls: list[Path]) -> FileCache[str]:
    def load(path: Path) -> str:
        calls.append(path)
        return path.read_text()

    return FileCache(load)


def test_an_unchanged_file_is_parsed_once(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("one")
    calls: list[Path] = []
    cache = counting(calls)
    assert [cache.get(path) for _ in range(5)] == ["one"] * 5
    assert len(calls) == 1


def test_a_replace_by_rename_and_an_in_place_edit_are_both_seen(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("one")
    cache = counting([])
    assert cache.get(path) == "one"
    (tmp_path / "new").write_text("two")
    (tmp_path / "new").replace(path)  # same size, new inode: how Shepherd and teleport write
    assert cache.get(path) == "two"
    stat = path.stat()
    path.write_text("six")  # same size and inode, in place: a hand edit
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert cache.get(path) == "six"


def test_a_missing_file_and_errors_are_never_cached(tmp_path: Path) -> None:
    path = tmp_path / "f"
    calls: list[Path] = []
    cache = counting(calls)
    with pytest.raises(FileNotFoundError):
        cache.get(path)
    path.write_text("here")
    assert cache.get(path) == "here"
    path.unlink()
    with pytest.raises(FileNotFoundError):
        cache.get(path)


def test_records_follow_what_shepherd_saves(tmp_path: Path) -> None:
    records = RecordCache()
    update_yaml = tmp_path / "update.yaml"
    assert records.config(update_yaml) is None
    config = parse_config((GOLDEN / "protocol_example.yaml").read_text())
    save_config(update_yaml, config)
    assert render_config(records.config(update_yaml) or config) == render_config(config)
    save_config(update_yaml, config.with_spec(pinned=True))
    cached = records.config(update_yaml)
    assert cached is not None and cached.spec.pinned
    assert records.agent_record(tmp_path) == AgentRecord()
    state = AgentRecord(bad={"17.2.1": BadRevision("crashed", 0, "2026-01-01T00:00:00+00:00")})
    save_agent_record(tmp_path, state)
    assert records.agent_record(tmp_path) == state
    update_yaml.write_text("version: v9\n")
    with pytest.raises(StateError, match="v9"):
        records.config(update_yaml)


def test_the_cached_layout_follows_update_yaml_and_the_agent_config(tmp_path: Path) -> None:
    records = RecordCache()
    layout = records.layout(tmp_path, "default")
    assert layout == Layout.resolve(tmp_path, "default")
    config = parse_config((GOLDEN / "protocol_example.yaml").read_text())
    save_config(layout.update_yaml, config.with_spec(path="/opt/elsewhere/bin"))
    assert records.layout(tmp_path, "default").link_dir == tmp_path / "opt/elsewhere/bin"
    layout.agent_config.parent.mkdir(parents=True, exist_ok=True)
    layout.agent_config.write_text("teleport:\n  data_dir: /srv/teleport\n")
    assert records.layout(tmp_path, "default").data_dir == tmp_path / "srv/teleport"
    assert records.layout(tmp_path, "default") == Layout.resolve(tmp_path, "default")
