"""Version dirs as teleport-update lays them out, in both directions.

teleport-update extracts every top-level file of the tarball's ``teleport/`` (or
``teleport-ent/``) dir into ``bin/`` except ``install``, the unit and the docs, and links the
executables among them. It writes ``sha256`` as the bare hex digest and reads back only the
first 64 characters. A version dir either updater wrote must be accepted by the other.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from pathlib import Path

from engine.install.links import switch_links
from engine.install.revisions import install_revision, installed_checksum, list_revisions
from engine.store.layout import Layout
from engine.versions import Revision

REV = Revision.of("18.1.0", "Enterprise")


def add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def future_release(path: Path) -> tuple[Path, str]:
    """A release with an executable Shepherd has never heard of, and a data file."""
    with tarfile.open(path, "w:gz") as tar:
        add(tar, "teleport-ent/teleport", b"\x7fELF teleport", 0o755)
        add(tar, "teleport-ent/tctl", b"\x7fELF tctl", 0o755)
        add(tar, "teleport-ent/teleport-spacewalk", b"\x7fELF new tool", 0o755)
        add(tar, "teleport-ent/notes.txt", b"not a program", 0o644)
        add(tar, "teleport-ent/install", b"#!/bin/sh\necho installing\n", 0o755)
        dir_entry = tarfile.TarInfo("teleport-ent/examples")
        dir_entry.type = tarfile.DIRTYPE
        dir_entry.mode = 0o755
        tar.addfile(dir_entry)
        add(tar, "teleport-ent/examples/systemd/teleport.service", b"[Service]\n", 0o644)
        add(tar, "teleport-ent/examples/other.yaml", b"x: 1\n", 0o644)
        add(tar, "teleport-ent/VERSION", b"18.1.0\n", 0o644)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_top_level_file_but_install_goes_to_bin_and_only_executables_link(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path / "root")
    archive, digest = future_release(tmp_path / "t.tar.gz")
    target = install_revision(archive, digest, layout.versions_dir, REV)
    assert sorted(p.name for p in (target / "bin").iterdir()) == [
        "notes.txt",
        "tctl",
        "teleport",
        "teleport-spacewalk",
    ]
    assert os.access(target / "bin/teleport-spacewalk", os.X_OK)
    assert not os.access(target / "bin/notes.txt", os.X_OK)
    assert not (target / "bin/install").exists()
    assert (target / "lib/systemd/system/teleport.service").read_bytes() == b"[Service]\n"
    switch_links(target / "bin", layout.link_dir, versions_dir=layout.versions_dir)
    assert sorted(p.name for p in layout.link_dir.iterdir()) == [
        "tctl",
        "teleport",
        "teleport-spacewalk",
    ]
    # Absolute targets into versions/<rev>/bin: the form teleport-update compares against.
    assert os.readlink(layout.link_dir / "teleport-spacewalk") == str(
        layout.versions_dir / "18.1.0_ent" / "bin" / "teleport-spacewalk"
    )


def test_the_marker_is_the_bare_digest_as_teleport_update_writes_it(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "root")
    archive, digest = future_release(tmp_path / "t.tar.gz")
    target = install_revision(archive, digest, layout.versions_dir, REV)
    assert (target / "sha256").read_bytes() == digest.encode()


def test_a_dir_teleport_update_installed_is_recognised_and_not_reinstalled(
    tmp_path: Path,
) -> None:
    layout = Layout(tmp_path / "root")
    archive, digest = future_release(tmp_path / "t.tar.gz")
    theirs = layout.versions_dir / "18.1.0_ent"
    (theirs / "bin").mkdir(parents=True)
    (theirs / "bin" / "teleport").write_bytes(b"\x7fELF theirs")
    (theirs / "sha256").write_bytes(digest.upper().encode())  # hex, no newline, any case
    assert installed_checksum(layout.versions_dir, REV) == digest
    assert list_revisions(layout.versions_dir) == [REV]
    install_revision(archive, digest, layout.versions_dir, REV)
    assert (theirs / "bin" / "teleport").read_bytes() == b"\x7fELF theirs"


def test_only_the_first_64_characters_of_a_marker_count(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    (versions / "18.1.0_ent").mkdir(parents=True)
    (versions / "18.1.0_ent" / "sha256").write_text("a" * 64 + "  teleport-ent.tar.gz\n")
    assert installed_checksum(versions, REV) == "a" * 64
