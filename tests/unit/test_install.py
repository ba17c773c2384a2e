"""Extraction trusts nothing: hostile tarballs are refused and leave nothing behind."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import engine.install.revisions
from engine.errors import ArtifactError
from engine.install.revisions import (
    install_revision,
    installed_checksum,
    list_revisions,
    remove_revision,
)
from engine.versions import Revision
from sandbox.agentbuild import Behaviour, build_artifact

REV = Revision.of("17.2.1")
GOOD = Revision.of("17.1.0")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_tar(path: Path, entries: Callable[[tarfile.TarFile], None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        entries(tar)
    return path


def add_file(tar: tarfile.TarFile, name: str, data: bytes = b"x", mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def base_entries(tar: tarfile.TarFile) -> None:
    add_file(tar, "teleport/teleport", b"#!/bin/sh\necho teleport\n")
    add_file(tar, "teleport/tctl", b"#!/bin/sh\n")
    add_file(tar, "teleport/examples/systemd/teleport.service", b"[Service]\n", 0o644)
    add_file(tar, "teleport/VERSION", b"17.2.1\n", 0o644)


@pytest.fixture
def versions(tmp_path: Path) -> Path:
    """A versions dir that already holds a good installed revision (must stay untouched)."""
    versions_dir = tmp_path / "versions"
    artifact = build_artifact(tmp_path / "good", "17.1.0")
    install_revision(artifact.path, artifact.sha256, versions_dir, GOOD)
    return versions_dir


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def test_a_real_layout_tarball_installs_into_the_teleport_layout(tmp_path: Path) -> None:
    artifact = build_artifact(tmp_path / "a", "17.2.1", edition="ent")
    versions = tmp_path / "versions"
    revision = Revision.of("17.2.1", "Enterprise")
    target = install_revision(artifact.path, artifact.sha256, versions, revision)
    assert target == versions / "17.2.1_ent"
    names = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert names == [
        "bin/fdpass-teleport",
        "bin/tbot",
        "bin/tctl",
        "bin/teleport",
        "bin/teleport-update",
        "bin/tsh",
        "lib/systemd/system/teleport.service",
        "sha256",
        "share/CHANGELOG.md",
        "share/README.md",
        "share/VERSION",
    ]
    assert (target / "sha256").read_text().strip() == artifact.sha256
    assert os.access(target / "bin/teleport", os.X_OK)
    out = subprocess.run(
        [str(target / "bin/teleport"), "version"], capture_output=True, text=True, check=True
    )
    assert "v17.2.1" in out.stdout
    assert list_revisions(versions) == [revision]
    assert sorted(p.name for p in versions.iterdir()) == ["17.2.1_ent"]


def test_a_matching_sha256_marker_skips_the_install(tmp_path: Path, versions: Path) -> None:
    marker = versions / "17.1.0" / "sha256"
    before = marker.stat().st_mtime_ns
    install_revision(tmp_path / "does-not-exist.tar.gz", marker.read_text().strip(), versions, GOOD)
    assert marker.stat().st_mtime_ns == before


def test_an_incomplete_dir_without_marker_is_reinstalled(tmp_path: Path, versions: Path) -> None:
    partial = versions / "17.2.1"
    (partial / "bin").mkdir(parents=True)
    (partial / "bin" / "teleport").write_text("half written")
    assert installed_checksum(versions, REV) is None
    assert REV not in list_revisions(versions)
    archive = make_tar(tmp_path / "t.tar.gz", base_entries)
    install_revision(archive, sha(archive), versions, REV)
    assert (partial / "bin" / "teleport").read_text().startswith("#!/bin/sh")
    assert installed_checksum(versions, REV) == sha(archive)


def symlink_entry(name: str, target: str) -> Callable[[tarfile.TarFile], None]:
    def entries(tar: tarfile.TarFile) -> None:
        base_entries(tar)
        info = tarfile.TarInfo(name)
        info.type = tarfile.SYMTYPE
        info.linkname = target
        tar.addfile(info)

    return entries


def special_entry(name: str, kind: bytes, linkname: str = "") -> Callable[[tarfile.TarFile], None]:
    def entries(tar: tarfile.TarFile) -> None:
        base_entries(tar)
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        tar.addfile(info)

    return entries


def link_as_teleport(tar: tarfile.TarFile) -> None:
    add_file(tar, "teleport/tctl")
    info = tarfile.TarInfo("teleport/teleport")
    info.type = tarfile.SYMTYPE
    info.linkname = "tctl"
    tar.addfile(info)


def extra_file(name: str) -> Callable[[tarfile.TarFile], None]:
    def entries(tar: tarfile.TarFile) -> None:
        base_entries(tar)
        add_file(tar, name)

    return entries


HOSTILE = [
    ("dot dot path", extra_file("teleport/../x"), "leaves the archive"),
    ("absolute path", extra_file("/etc/x"), "absolute path"),
    ("symlink to /etc", symlink_entry("teleport/etc", "/etc"), "points outside"),
    ("symlink escaping with dot dot", symlink_entry("teleport/up", "../../.."), "points outside"),
    ("symlink named like an executable", link_as_teleport, "regular file"),
    (
        "hard link to outside",
        special_entry("teleport/tsh", tarfile.LNKTYPE, "/etc/shadow"),
        "points outside",
    ),
    ("char device", special_entry("teleport/null", tarfile.CHRTYPE), "device"),
    ("fifo", special_entry("teleport/pipe", tarfile.FIFOTYPE), "fifo"),
    ("entry outside the top dir", extra_file("other/teleport"), "outside the expected top"),
    ("no teleport binary", lambda tar: add_file(tar, "teleport/tctl"), "no teleport executable"),
]


@pytest.mark.parametrize(
    ("entries", "words"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_tarballs_are_refused_and_leave_nothing(
    tmp_path: Path, versions: Path, entries: Callable[[tarfile.TarFile], None], words: str
) -> None:
    before = snapshot(versions)
    archive = make_tar(tmp_path / "hostile.tar.gz", entries)
    with pytest.raises(ArtifactError, match=words):
        install_revision(archive, sha(archive), versions, REV)
    assert snapshot(versions) == before
    assert sorted(p.name for p in versions.iterdir()) == ["17.1.0"]
    assert not Path("/etc/x").exists()


def test_setuid_and_setgid_bits_are_stripped(tmp_path: Path) -> None:
    def entries(tar: tarfile.TarFile) -> None:
        add_file(tar, "teleport/teleport", b"#!/bin/sh\n", 0o6755)
        add_file(tar, "teleport/tsh", b"#!/bin/sh\n", 0o4777)

    archive = make_tar(tmp_path / "suid.tar.gz", entries)
    target = install_revision(archive, sha(archive), tmp_path / "versions", REV)
    for name in ("teleport", "tsh"):
        mode = stat.S_IMODE((target / "bin" / name).stat().st_mode)
        assert mode & 0o7000 == 0
        assert mode == 0o755


def test_a_10_gb_sparse_bomb_is_refused_quickly(tmp_path: Path, versions: Path) -> None:
    tree = tmp_path / "bomb" / "teleport"
    tree.mkdir(parents=True)
    (tree / "teleport").write_text("#!/bin/sh\n")
    with (tree / "padding.bin").open("wb") as stream:
        stream.truncate(10 << 30)  # a sparse file: 10 GB that take no space
    archive = tmp_path / "bomb.tar.gz"
    subprocess.run(
        ["tar", "--sparse", "-czf", str(archive), "-C", str(tree.parent), "teleport"], check=True
    )
    assert archive.stat().st_size < 1 << 20
    before = snapshot(versions)
    started = time.monotonic()
    with pytest.raises(ArtifactError, match="unpacks to more than"):
        install_revision(archive, sha(archive), versions, REV)
    assert time.monotonic() - started < 10
    assert snapshot(versions) == before


def test_a_disk_full_during_extraction_leaves_nothing(tmp_path: Path, versions: Path) -> None:
    artifact = build_artifact(tmp_path / "big", "17.2.1", padding_bytes=0)
    script = (
        "import resource, signal\n"
        "from pathlib import Path\n"
        "from engine.install.revisions import install_revision\n"
        "from engine.versions import Revision\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))\n"
        f"install_revision(Path({str(artifact.path)!r}), {artifact.sha256!r}, "
        f"Path({str(versions)!r}), Revision.of('17.2.1'))\n"
    )
    before = snapshot(versions)
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert result.returncode != 0
    assert "cannot install 17.2.1" in result.stderr
    assert snapshot(versions) == before
    assert sorted(p.name for p in versions.iterdir()) == ["17.1.0"]


def test_killed_mid_extract_is_repaired_by_the_next_run(tmp_path: Path, versions: Path) -> None:
    # What a kill -9 mid-extract leaves: a partial temp dir and no marker for the revision.
    leftover = versions / f".17.2.1.partial-{os.getpid() + 1}"
    (leftover / "bin").mkdir(parents=True)
    (versions / "17.2.1" / "bin").mkdir(parents=True)
    artifact = build_artifact(tmp_path / "a", "17.2.1")
    install_revision(artifact.path, artifact.sha256, versions, REV)
    assert installed_checksum(versions, REV) == artifact.sha256
    assert REV in list_revisions(versions)


def test_remove_deletes_the_marker_first_and_refuses_linked(versions: Path) -> None:
    with pytest.raises(ArtifactError, match="linked"):
        remove_revision(versions, GOOD, linked={"17.1.0"})
    assert installed_checksum(versions, GOOD) is not None
    remove_revision(versions, GOOD, linked=set())
    assert not (versions / "17.1.0").exists()


def test_remove_refuses_a_dir_that_is_a_link_out(tmp_path: Path, versions: Path) -> None:
    outside = tmp_path / "precious"
    outside.mkdir()
    (outside / "keep").write_text("keep")
    (versions / "17.9.9").symlink_to(outside)
    remove_revision(versions, Revision.of("17.9.9"), linked=set())
    assert (outside / "keep").read_text() == "keep"


@pytest.fixture
def republished(tmp_path: Path) -> tuple[Path, str]:
    """17.1.0 again, with other bytes (so another checksum) than the one installed."""
    artifact = build_artifact(tmp_path / "again", "17.1.0", behaviour=Behaviour(ready_after=1))
    return artifact.path, artifact.sha256


def test_replacing_a_revision_deletes_the_old_dir_only_once_the_new_is_in_place(
    versions: Path, republished: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, digest = republished
    old = installed_checksum(versions, GOOD)
    assert old is not None and old != digest
    seen: list[str | None] = []
    remove_dir = engine.install.revisions._remove_dir

    def spy(target: Path, versions_dir: Path) -> None:
        seen.append(installed_checksum(versions, GOOD))  # what the path serves meanwhile
        remove_dir(target, versions_dir)

    monkeypatch.setattr(engine.install.revisions, "_remove_dir", spy)
    install_revision(archive, digest, versions, GOOD)
    assert seen == [digest]
    assert installed_checksum(versions, GOOD) == digest
    assert sorted(p.name for p in versions.iterdir()) == ["17.1.0"]  # the old copy is gone


def test_the_old_dir_comes_back_when_the_new_cannot_be_renamed_in(
    versions: Path, republished: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    archive, digest = republished
    before = snapshot(versions)
    rename = Path.rename

    def failing(self: Path, target: str | os.PathLike[str]) -> Path:
        new_in = ".partial-" in self.name and not self.name.endswith("-old")
        if new_in and Path(target) == versions / "17.1.0":
            raise OSError(28, "No space left on device")
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", failing)
    with pytest.raises(ArtifactError, match="No space left"):
        install_revision(archive, digest, versions, GOOD)
    assert snapshot(versions) == before
    assert sorted(p.name for p in versions.iterdir()) == ["17.1.0"]


def test_a_linked_revision_is_never_replaced(versions: Path, republished: tuple[Path, str]) -> None:
    archive, digest = republished
    before = snapshot(versions)
    with pytest.raises(ArtifactError, match=r"refusing to replace 17\.1\.0: it is linked"):
        install_revision(archive, digest, versions, GOOD, linked={"17.1.0"})
    assert snapshot(versions) == before
    assert sorted(p.name for p in versions.iterdir()) == ["17.1.0"]
    # the same checksum is no replacement: nothing to refuse
    old = installed_checksum(versions, GOOD)
    assert old is not None
    assert install_revision(archive, old, versions, GOOD, linked={"17.1.0"}) == versions / "17.1.0"
