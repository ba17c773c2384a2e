"""Installed revisions: safe extraction into a version dir, listing, removal.

A version dir holds ``bin/`` (the executables of the tarball's top dir), ``lib/systemd/
system/teleport.service`` (from ``examples/systemd/teleport.service``), ``share/`` (README,
CHANGELOG, VERSION, licence) and ``sha256``, the tarball's digest, written LAST: a dir
without it is incomplete and gets reinstalled. Removal deletes ``sha256`` first.

Extraction trusts nothing in the tarball and decompresses it once: each entry is checked as
it is reached, before its data is written (absolute paths, ``..``, device files, links out of
the tree, an entry twice, an unpacked size beyond the cap all refuse the whole tarball, and
the temp dir with what was written so far is removed: nothing is installed); only regular
files that the layout names are written, never beyond the size their header claims;
setuid/setgid bits are dropped. Free space is checked before each file is written. Work
happens in a temp dir that is renamed into place.

Replacing an installed revision (its ``sha256`` differs, or it has none) never deletes the
old dir before the new one is in place: the old is renamed aside (whole, marker included),
the new renamed in, then the old deleted (marker first); if the new cannot be renamed in,
the old is renamed back. A LINKED revision is never replaced, like teleport-update (whose
install removes the mismatching version, and removal refuses a linked one): its binaries
are what the running agent re-execs and what a rollback would restore to.
"""

from __future__ import annotations

import contextlib
import logging
import os
import zlib
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from engine.errors import ArtifactError, InvalidInput
from engine.fsutil import fsync_dir, safe_rmtree
from engine.install.download import SPACE_MARGIN, check_free_space
from engine.install.gunzip import GunzipReader
from engine.versions import Revision

if TYPE_CHECKING:
    import tarfile

__all__ = [
    "BINARIES",
    "install_revision",
    "installed_checksum",
    "list_revisions",
    "remove_revision",
]

BINARIES = ("teleport", "tctl", "tsh", "tbot", "fdpass-teleport", "teleport-update")
# Like teleport-update: every other top-level file goes to bin/ too (a newer release may add
# an executable), except the tarball's own install script.
SKIPPED = ("install",)
TOP_DIRS = ("teleport", "teleport-ent")
UNIT_SOURCE = "examples/systemd/teleport.service"
UNIT_TARGET = "lib/systemd/system/teleport.service"
SHARE_FILES = ("README.md", "CHANGELOG.md", "VERSION")
DEFAULT_MAX_UNPACKED = 1 << 30
_BLOCK = 1 << 20
_log = logging.getLogger(__name__)


def installed_checksum(versions_dir: Path, revision: Revision) -> str | None:
    """The digest in the ``sha256`` marker: its first 64 characters, as teleport-update
    reads it (it writes the bare hex digest; Shepherd's older markers end in a newline)."""
    marker = versions_dir / revision.dir_name / "sha256"
    try:
        with marker.open("rb") as stream:
            head = stream.read(64)
    except OSError:
        return None
    text = head.decode("ascii", errors="replace").strip().lower()
    return text or None


def _target_for(relative: PurePosixPath, member: tarfile.TarInfo) -> str | None:
    text = str(relative)
    if text == UNIT_SOURCE:
        return UNIT_TARGET
    if len(relative.parts) != 1:
        return None
    if text in SHARE_FILES or text.upper().startswith("LICENSE"):
        return f"share/{text}"
    if text in BINARIES:
        return f"bin/{text}"
    if text in SKIPPED or not member.isfile():
        return None  # directories (examples/), links, anything else unexpected: not installed
    return f"bin/{text}"


def _mode_for(target: str, member: tarfile.TarInfo) -> int:
    if target.startswith("bin/") and (
        PurePosixPath(target).name in BINARIES or member.mode & 0o111
    ):
        return 0o755
    return 0o644


def _check_member(member: tarfile.TarInfo) -> PurePosixPath | None:
    """Validate one entry; return its path inside the top dir, or None for the top dir."""
    name = member.name
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise ArtifactError(f"refusing tarball: absolute path {name!r}")
    if ".." in path.parts:
        raise ArtifactError(f"refusing tarball: path {name!r} leaves the archive")
    if member.isdev() or member.isfifo():
        raise ArtifactError(f"refusing tarball: device or fifo entry {name!r}")
    if member.islnk() or member.issym():
        target = PurePosixPath(member.linkname)
        if target.is_absolute() or ".." in target.parts:
            raise ArtifactError(
                f"refusing tarball: link {name!r} -> {member.linkname!r} points outside"
            )
    parts = [p for p in path.parts if p not in {"", "."}]
    if not parts:
        return None
    if parts[0] not in TOP_DIRS:
        raise ArtifactError(
            f"refusing tarball: entry {name!r} is outside the expected top directory "
            f"({' or '.join(TOP_DIRS)})"
        )
    if len(parts) == 1:
        return None
    return PurePosixPath(*parts[1:])


def install_revision(
    archive: Path,
    sha256: str,
    versions_dir: Path,
    revision: Revision,
    *,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED,
    linked: Collection[str] = (),
) -> Path:
    """Install a verified ``archive`` as ``versions_dir/<revision>``; return that dir.

    Already installed with the same checksum: returns at once. Incomplete (no ``sha256``) or
    another checksum: replaced, the old dir kept whole until the new one is in place.
    ``linked``: dir names of revisions in use (linked); those are never replaced.

    Raises:
        ArtifactError: hostile or broken tarball, not enough space, or ``revision`` is linked
            and installed with another checksum (nothing is left behind, the installed dir
            is untouched).
    """
    final = versions_dir / revision.dir_name
    installed = installed_checksum(versions_dir, revision)
    if installed == sha256.lower():
        return final
    if revision.dir_name in linked and (final.exists() or final.is_symlink()):
        found = f"checksum {installed}" if installed else "no sha256 marker (incomplete)"
        raise ArtifactError(
            f"refusing to replace {revision}: it is linked (in use) and installed with "
            f"{found}, not {sha256.lower()}; switch to another version before reinstalling it"
        )
    versions_dir.mkdir(parents=True, exist_ok=True)
    check_free_space(
        versions_dir, min(_gzip_claimed_size(archive), max_unpacked_bytes) + SPACE_MARGIN
    )
    temp = versions_dir / f".{revision.dir_name}.partial-{os.getpid()}"
    # The old dir while the new one is renamed in; a ".partial-" name, so that what a kill
    # leaves behind is cleaned up like a temp dir.
    aside = versions_dir / f".{revision.dir_name}.partial-{os.getpid()}-old"
    for leftover in (temp, aside):
        if leftover.exists() or leftover.is_symlink():
            safe_rmtree(leftover, must_be_under=versions_dir)
    try:
        _extract(archive, temp, max_unpacked_bytes)
        marker = temp / "sha256"
        with marker.open("w") as stream:
            stream.write(sha256.lower())  # the bare hex digest, as teleport-update writes it
            stream.flush()
            os.fsync(stream.fileno())
        _rename_in(temp, final, aside)
        fsync_dir(versions_dir)
    except BaseException as e:
        with contextlib.suppress(OSError, ValueError):
            safe_rmtree(temp, must_be_under=versions_dir)
        if isinstance(e, OSError):
            raise ArtifactError(f"cannot install {revision} into {versions_dir}: {e}") from e
        raise
    if aside.exists() or aside.is_symlink():
        try:
            _remove_dir(aside, versions_dir)  # sha256 first
        except ArtifactError as e:
            _log.warning("installed %s; the replaced copy stays behind: %s", revision, e)
    return final


def _rename_in(temp: Path, final: Path, aside: Path) -> None:
    """Rename ``temp`` to ``final``; an existing ``final`` goes to ``aside`` first, whole,
    and comes back if ``temp`` cannot be renamed in."""
    if not (final.exists() or final.is_symlink()):
        temp.rename(final)
        return
    final.rename(aside)
    try:
        temp.rename(final)
    except BaseException:
        try:
            aside.rename(final)
        except OSError as e:
            _log.error("could not put %s back from %s: %s", final, aside, e)
        raise


def _extract(archive: Path, temp: Path, max_unpacked: int) -> None:
    """Validate and write each entry in one pass over the archive.

    Raises:
        ArtifactError: a refused entry, a broken archive or not enough space (the caller
            removes ``temp``).
    """
    import tarfile  # noqa: PLC0415 - only when installing (the idle daemon does without)

    temp.mkdir(mode=0o755)
    written: set[str] = set()
    total = 0
    try:
        with GunzipReader(archive) as stream, tarfile.open(fileobj=stream, mode="r:") as tar:
            for member in tar:
                relative = _check_member(member)
                total += max(member.size, 0)
                if total > max_unpacked:
                    raise ArtifactError(
                        f"refusing tarball: it unpacks to more than {max_unpacked} bytes "
                        f"(entry {member.name!r} claims {member.size})"
                    )
                target = _target_for(relative, member) if relative is not None else None
                if target is None:
                    continue
                if not member.isfile() or member.issparse():
                    raise ArtifactError(f"refusing tarball: {member.name!r} must be a regular file")
                if target in written:
                    raise ArtifactError(f"refusing tarball: {member.name!r} appears twice")
                written.add(target)
                check_free_space(temp.parent, member.size + SPACE_MARGIN)
                _write_entry(stream, member, temp / target)
                (temp / target).chmod(_mode_for(target, member))
    except (tarfile.TarError, EOFError, zlib.error) as e:
        raise ArtifactError(f"{archive.name} is not a readable .tar.gz: {e}") from e
    if "bin/teleport" not in written:
        raise ArtifactError(f"{archive.name} has no teleport executable in its top directory")


def _gzip_claimed_size(archive: Path) -> int:
    """The unpacked size a gzip file's trailer claims (mod 4 GiB; only the last member's):
    a first estimate for the free-space check, which is checked again per entry."""
    try:
        with archive.open("rb") as stream:
            stream.seek(-4, os.SEEK_END)
            return int.from_bytes(stream.read(4), "little")
    except OSError:
        return 0


def _write_entry(stream: GunzipReader, member: tarfile.TarInfo, destination: Path) -> None:
    """Copy exactly the entry's ``size`` bytes, read straight from the decompressed stream
    (the bytes after its header), into a new file."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    stream.seek(member.offset_data)
    with destination.open("xb", buffering=0) as out:
        remaining = member.size
        while remaining > 0:
            block = stream.read1(min(_BLOCK, remaining))
            if not block:
                raise ArtifactError(f"the archive ends inside {member.name!r}")
            remaining -= len(block)
            view = memoryview(block)
            while view:  # an unbuffered write may be partial
                view = view[out.write(view) :]


def list_revisions(versions_dir: Path) -> list[Revision]:
    """Complete installed revisions (those with a ``sha256`` marker)."""
    if not versions_dir.is_dir():
        return []
    found = []
    for child in sorted(versions_dir.iterdir()):
        if child.name.startswith("."):
            continue
        try:
            revision = Revision.parse_dir_name(child.name)
        except InvalidInput:
            _log.info("ignoring %s: not a revision directory", child)
            continue
        if (child / "sha256").is_file():
            found.append(revision)
    return found


def remove_revision(versions_dir: Path, revision: Revision, *, linked: set[str]) -> None:
    """Remove an installed revision: ``sha256`` first, then the dir.

    Raises:
        ArtifactError: the revision is linked (in use) or the path is not a version dir.
    """
    if revision.dir_name in linked:
        raise ArtifactError(f"refusing to remove {revision}: it is linked (in use)")
    target = versions_dir / revision.dir_name
    if not target.exists():
        return
    _remove_dir(target, versions_dir)


def _remove_dir(target: Path, versions_dir: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        (target / "sha256").unlink(missing_ok=True)
        fsync_dir(target)
    try:
        safe_rmtree(target, must_be_under=versions_dir)
    except ValueError as e:
        raise ArtifactError(str(e)) from e
    except OSError as e:
        raise ArtifactError(f"cannot remove {target}: {e}") from e
