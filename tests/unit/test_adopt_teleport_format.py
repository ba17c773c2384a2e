"""Adoption of a namespace laid out by hand exactly as teleport-update leaves one.

Nothing here is produced by Shepherd's own writers: the update.yaml is in teleport-update's
encoder format (4-space indent, block revisions, Go timestamp), the markers are bare hex,
the links are absolute paths into ``versions/<rev>/bin``, a newer release ships a binary
Shepherd has no name for, and an unknown spec field is present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from engine.install.adopt import inspect_namespace
from engine.store.layout import Layout
from engine.store.update_yaml import load_config, save_config
from engine.versions import Revision

UPDATE_YAML = """version: v1
kind: update_config
spec:
    proxy: example.teleport.sh:443
    path: {link_dir}
    enabled: true
    pinned: false
    selinux_ssh: false
status:
    id_file: {id_file}
    last_update:
        success: true
        time: 2025-05-06T07:08:09.987654321Z
        target:
            version: 17.4.3
            flags: [Enterprise, FIPS]
    active:
        version: 17.4.3
        flags: [Enterprise, FIPS]
    backup:
        version: 17.3.0
        flags: [Enterprise, FIPS]
"""


def lay_out(root: Path, namespace: str) -> Layout:
    layout = Layout(root, namespace)
    for rev_dir, digest in (("17.4.3_ent_fips", "ab" * 32), ("17.3.0_ent_fips", "cd" * 32)):
        bin_dir = layout.versions_dir / rev_dir / "bin"
        bin_dir.mkdir(parents=True)
        for name in ("teleport", "tctl", "tsh", "teleport-update", "teleport-newtool"):
            (bin_dir / name).write_bytes(b"\x7fELF")
            (bin_dir / name).chmod(0o755)
        unit = layout.versions_dir / rev_dir / "lib/systemd/system/teleport.service"
        unit.parent.mkdir(parents=True)
        unit.write_text("[Service]\nExecStart=/usr/local/bin/teleport start --fips\n")
        (layout.versions_dir / rev_dir / "sha256").write_text(digest)  # no newline
    layout.link_dir.mkdir(parents=True, exist_ok=True)
    for name in ("teleport", "tctl", "tsh", "teleport-update", "teleport-newtool"):
        target = layout.versions_dir / "17.4.3_ent_fips" / "bin" / name
        (layout.link_dir / name).symlink_to(target.absolute())
    layout.update_yaml.write_text(
        UPDATE_YAML.format(link_dir=layout.link_dir, id_file=layout.id_file)
    )
    return layout


@pytest.mark.parametrize("namespace", ["default", "blue"])
def test_a_teleport_update_namespace_is_adopted_as_it_is(tmp_path: Path, namespace: str) -> None:
    layout = lay_out(tmp_path / "host", namespace)
    before = {
        str(p): (os.readlink(p) if p.is_symlink() else p.read_bytes())
        for p in layout.root.rglob("*")
        if p.is_symlink() or p.is_file()
    }
    report = inspect_namespace(layout)
    assert report.managed and report.healthy, report.problems
    active = Revision.of("17.4.3", "Enterprise", "FIPS")
    assert report.active == active
    assert report.linked == "17.4.3_ent_fips"
    assert set(report.installed) == {active, Revision.of("17.3.0", "Enterprise", "FIPS")}
    after = {
        str(p): (os.readlink(p) if p.is_symlink() else p.read_bytes())
        for p in layout.root.rglob("*")
        if p.is_symlink() or p.is_file()
    }
    assert after == before


def test_writing_back_keeps_what_teleport_update_needs(tmp_path: Path) -> None:
    layout = lay_out(tmp_path / "host", "default")
    config = load_config(layout.update_yaml)
    assert config is not None
    save_config(layout.update_yaml, config.with_spec(pinned=True))
    text = layout.update_yaml.read_text()
    assert text.startswith("version: v1\nkind: update_config\n")
    assert "  selinux_ssh: false\n" in text
    assert "  active:\n    version: 17.4.3\n    flags: [Enterprise, FIPS]\n" in text
    assert f"  id_file: {layout.id_file}\n" in text
    again = load_config(layout.update_yaml)
    assert again is not None and again.spec.pinned
    assert again.status == config.status
