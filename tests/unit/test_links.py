from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.errors import ArtifactError
from engine.install.links import copy_unit, linked_revision, switch_links, unit_source
from engine.install.revisions import install_revision
from engine.store.layout import Layout
from engine.versions import Revision
from sandbox.agentbuild import build_artifact

OLD = Revision.of("17.1.0")
NEW = Revision.of("17.2.1")


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    layout = Layout(tmp_path / "root")
    for revision in (OLD, NEW):
        artifact = build_artifact(tmp_path / "art", str(revision.version))
        install_revision(artifact.path, artifact.sha256, layout.versions_dir, revision)
    return layout


def state_of(directory: Path) -> dict[str, str]:
    """Every entry of a dir: link targets, or file contents."""
    if not directory.exists():
        return {}
    return {
        p.name: ("-> " + os.readlink(p)) if p.is_symlink() else p.read_text()
        for p in sorted(directory.iterdir())
    }


def test_switch_points_every_executable_and_revert_restores_exactly(layout: Layout) -> None:
    switch_links(layout.version_dir(OLD) / "bin", layout.link_dir)
    (layout.link_dir / "unrelated").write_text("mine")
    before = state_of(layout.link_dir)
    revert = switch_links(
        layout.version_dir(NEW) / "bin", layout.link_dir, versions_dir=layout.versions_dir
    )
    assert os.readlink(layout.link_dir / "teleport") == str(
        layout.version_dir(NEW) / "bin/teleport"
    )
    assert linked_revision(layout) == "17.2.1"
    revert()
    assert state_of(layout.link_dir) == before
    revert()  # safe twice
    assert state_of(layout.link_dir) == before
    assert linked_revision(layout) == "17.1.0"


def test_first_switch_revert_removes_the_links_it_created(layout: Layout) -> None:
    revert = switch_links(layout.version_dir(NEW) / "bin", layout.link_dir)
    assert len(state_of(layout.link_dir)) == 6
    revert()
    assert state_of(layout.link_dir) == {}


def test_a_regular_file_in_the_way_is_never_overwritten(layout: Layout) -> None:
    layout.link_dir.mkdir(parents=True)
    (layout.link_dir / "tsh").write_text("a tsh the admin installed by hand")
    with pytest.raises(ArtifactError, match=r"refusing to replace .*tsh"):
        switch_links(layout.version_dir(NEW) / "bin", layout.link_dir)
    assert state_of(layout.link_dir) == {"tsh": "a tsh the admin installed by hand"}


def test_forced_switch_replaces_a_regular_file_and_revert_brings_it_back(layout: Layout) -> None:
    layout.link_dir.mkdir(parents=True)
    (layout.link_dir / "tsh").write_text("hand made")
    revert = switch_links(layout.version_dir(NEW) / "bin", layout.link_dir, force=True)
    assert (layout.link_dir / "tsh").is_symlink()
    revert()
    assert state_of(layout.link_dir) == {"tsh": "hand made"}


def test_stale_links_into_old_versions_are_removed_and_restored(layout: Layout) -> None:
    switch_links(layout.version_dir(OLD) / "bin", layout.link_dir)
    (layout.link_dir / "old-tool").symlink_to(layout.version_dir(OLD) / "bin" / "tctl")
    before = state_of(layout.link_dir)
    revert = switch_links(
        layout.version_dir(NEW) / "bin", layout.link_dir, versions_dir=layout.versions_dir
    )
    assert not (layout.link_dir / "old-tool").exists()
    revert()
    assert state_of(layout.link_dir) == before


def test_unit_is_copied_with_paths_rewritten_for_a_namespace(tmp_path: Path) -> None:
    layout = Layout(Path("/"), "staging")
    fake = Layout(tmp_path, "staging")
    artifact = build_artifact(tmp_path / "art", "17.2.1")
    install_revision(artifact.path, artifact.sha256, fake.versions_dir, NEW)
    revert = copy_unit(unit_source(fake.version_dir(NEW)), fake)
    text = fake.unit_file.read_text()
    assert f"ExecStart={fake.link_dir}/teleport start --config {fake.agent_config}" in text
    assert f"--pid-file={fake.pid_file}" in text
    assert f"PIDFile={fake.pid_file}" in text
    assert "/usr/local/bin/" not in text
    assert str(layout.unit_file) == "/etc/systemd/system/teleport_staging.service"
    revert()
    assert not fake.unit_file.exists()


def test_unit_for_the_default_namespace_at_root_is_unchanged(tmp_path: Path) -> None:
    artifact = build_artifact(tmp_path / "art", "17.2.1")
    work = Layout(tmp_path)
    install_revision(artifact.path, artifact.sha256, work.versions_dir, NEW)
    source = unit_source(work.version_dir(NEW)).read_text()
    rewritten = source.replace("/usr/local/bin/", "/usr/local/bin/").replace(
        "/etc/teleport.yaml", "/etc/teleport.yaml"
    )
    assert "ExecStart=/usr/local/bin/teleport start --config /etc/teleport.yaml" in rewritten


def test_unit_revert_restores_the_previous_unit(layout: Layout) -> None:
    layout.unit_file.parent.mkdir(parents=True)
    layout.unit_file.write_text("[Service]\nExecStart=/old\n")
    revert = copy_unit(unit_source(layout.version_dir(NEW)), layout)
    assert "ExecStart=/old" not in layout.unit_file.read_text()
    revert()
    assert layout.unit_file.read_text() == "[Service]\nExecStart=/old\n"


def test_units_over_one_megabyte_are_refused(layout: Layout, tmp_path: Path) -> None:
    huge = tmp_path / "huge.service"
    huge.write_text("#" * (1 << 20) + "\n")
    with pytest.raises(ArtifactError, match="over 1 MB"):
        copy_unit(huge, layout)
    assert not layout.unit_file.exists()


@pytest.mark.parametrize(
    "name",
    ["t\u0435leport", "tele port", "tsh\n", "caf\u00e9", "tctl\u200b"],
    ids=["cyrillic e lookalike", "space", "newline", "latin-1 letter", "zero-width space"],
)
def test_an_executable_whose_name_is_not_plain_ascii_is_refused_and_nothing_linked(
    layout: Layout, name: str
) -> None:
    bin_dir = layout.version_dir(NEW) / "bin"
    odd = bin_dir / name
    odd.write_text("#!/bin/sh\n")
    odd.chmod(0o755)
    with pytest.raises(
        ArtifactError, match=r"(?s)refusing to link .*is not plain ASCII"
    ) as refused:
        switch_links(bin_dir, layout.link_dir)
    assert ascii(name) in str(refused.value)
    assert state_of(layout.link_dir) == {}
