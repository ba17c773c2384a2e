"""The testbed's realistic artifact: ELF-like helper executables that compress like a real
release, installed like any other tarball."""

from __future__ import annotations

import tarfile
from pathlib import Path

from engine.install.revisions import install_revision
from engine.versions import Revision
from sandbox.agentbuild import build_artifact
from sandbox.agentbuild.payload import REAL_SHARES


def test_a_realistic_artifact_is_elf_like_compressible_and_installs(tmp_path: Path) -> None:
    size = 8 << 20
    artifact = build_artifact(tmp_path / "cdn", "17.2.1", realistic_bytes=size)
    with tarfile.open(artifact.path) as tar:
        members = {m.name.removeprefix("teleport/"): m for m in tar.getmembers()}
        unpacked = sum(m.size for m in members.values())
        for tool in REAL_SHARES:
            stream = tar.extractfile(members[tool])
            assert stream is not None
            assert stream.read(4) == b"\x7fELF"
    assert 0.95 * size <= unpacked <= 1.05 * size
    assert 0.3 <= artifact.path.stat().st_size / unpacked <= 0.55  # a release gzips to ~40 %
    installed = install_revision(
        artifact.path, artifact.sha256, tmp_path / "versions", Revision.of("17.2.1")
    )
    assert (installed / "bin" / "tctl").stat().st_size == members["tctl"].size
    assert (installed / "bin" / "teleport").read_text().startswith("#!")


def test_the_default_artifact_stays_small(tmp_path: Path) -> None:
    artifact = build_artifact(tmp_path / "cdn", "17.2.1")
    assert artifact.path.stat().st_size < 64 * 1024
