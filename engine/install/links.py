"""Switching the active revision: binary symlinks and the service unit, each with a revert.

    revert_links = switch_links(layout.version_dir(rev) / "bin", layout.link_dir,
                                versions_dir=layout.versions_dir)
    revert_unit = copy_unit(layout.version_dir(rev) / UNIT_TARGET, layout)
    ...
    revert_unit(); revert_links()   # exact previous state; safe to call twice

Each link is replaced atomically (temp symlink + rename). A regular file at a link location
is never overwritten unless forced. A failure part-way reverts what was done at once.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

from engine.errors import ArtifactError, InvalidInput
from engine.fsutil import atomic_write
from engine.install.revisions import UNIT_TARGET
from engine.store.layout import Layout
from engine.versions import Revision

_PLAIN_NAME = re.compile(r"[A-Za-z0-9._-]+")

__all__ = [
    "MAX_UNIT_BYTES",
    "Revert",
    "copy_unit",
    "linked_revision",
    "rewrite_unit",
    "switch_links",
]

MAX_UNIT_BYTES = 1_000_000  # teleport-update's limit for unit files


class Revert:
    """Undo actions, run newest first, at most once each."""

    def __init__(self) -> None:
        self._undo: list[Callable[[], None]] = []

    def add(self, action: Callable[[], None]) -> None:
        self._undo.append(action)

    def __call__(self) -> None:
        while self._undo:
            self._undo.pop()()


def _replace_symlink(link: Path, target: str) -> None:
    temp = link.with_name(f".{link.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        temp.unlink()
    temp.symlink_to(target)
    temp.replace(link)


def _restore(link: Path, previous: str | None) -> Callable[[], None]:
    def undo() -> None:
        if previous is None:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
        else:
            _replace_symlink(link, previous)

    return undo


def _put_back(aside: Path, link: Path) -> Callable[[], None]:
    def undo() -> None:
        aside.replace(link)

    return undo


def switch_links(
    bin_src: Path, link_dir: Path, *, versions_dir: Path | None = None, force: bool = False
) -> Revert:
    """Point one symlink per executable in ``bin_src`` from ``link_dir``.

    Links into ``versions_dir`` for executables the new revision lacks are removed.

    Raises:
        ArtifactError: a regular file is in the way (named), or the switch failed (reverted).
    """
    names = sorted(p.name for p in bin_src.iterdir() if p.is_file() and os.access(p, os.X_OK))
    for name in names:
        if not _PLAIN_NAME.fullmatch(name):
            raise ArtifactError(
                f"refusing to link {bin_src / name}: its name {name!a} is not plain ASCII "
                "letters, digits, '.', '_' and '-' (a lookalike of a real name?)"
            )
    if "teleport" not in names:
        raise ArtifactError(f"{bin_src} has no teleport executable to link")
    link_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        link = link_dir / name
        if (link.exists() or link.is_symlink()) and not link.is_symlink() and not force:
            raise ArtifactError(
                f"refusing to replace {link}: it is a regular file, not a link "
                "(move it away or force the switch)"
            )
    revert = Revert()
    try:
        for name in names:
            link = link_dir / name
            if link.exists() and not link.is_symlink():
                aside = link.with_name(f".{name}.shepherd-replaced")
                link.replace(aside)
                revert.add(_put_back(aside, link))
                previous = None
            else:
                previous = os.readlink(link) if link.is_symlink() else None
            _replace_symlink(link, str(bin_src / name))
            revert.add(_restore(link, previous))
        if versions_dir is not None:
            _remove_stale(link_dir, versions_dir, set(names), revert)
    except OSError as e:
        revert()
        raise ArtifactError(f"switching links in {link_dir} failed and was undone: {e}") from e
    except BaseException:
        revert()
        raise
    return revert


def _remove_stale(link_dir: Path, versions_dir: Path, keep: set[str], revert: Revert) -> None:
    root = str(versions_dir.resolve()) + os.sep
    for link in sorted(link_dir.iterdir()):
        if link.name in keep or not link.is_symlink():
            continue
        target = os.readlink(link)
        absolute = os.path.normpath(os.path.join(link_dir, target))
        if absolute.startswith(root) or target.startswith(str(versions_dir) + os.sep):
            link.unlink()
            revert.add(_restore(link, target))


def copy_unit(src_unit: Path, layout: Layout, *, revision: Revision | None = None) -> Revert:
    """Copy the revision's unit to the namespace's unit path, rewriting its paths.

    The rewrite is teleport-update's, byte for byte (see :func:`rewrite_unit`), so either
    updater recognises the other's copy. ``revision`` (for FIPS) defaults to the one whose
    version dir holds ``src_unit``.

    Raises:
        ArtifactError: the unit is missing or over 1 MB, or what is at the unit path is not
            a regular file of at most 1 MB (a link or a directory there is never replaced).
    """
    data = _read_unit(src_unit, what="service unit")
    if revision is None:
        revision = _revision_of(src_unit, layout)
    text = rewrite_unit(data, layout, fips=revision is not None and revision.fips)
    destination = layout.unit_file
    previous: tuple[bytes, int] | None = None
    if destination.exists() or destination.is_symlink():
        if destination.is_symlink() or not destination.is_file():
            raise ArtifactError(
                f"refusing to replace {destination}: it is not a regular file "
                "(a link or a directory is never overwritten)"
            )
        previous = (
            _read_unit(destination, what="installed unit"),
            stat.S_IMODE(destination.stat().st_mode),
        )
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(destination, text, mode=0o644)
    revert = Revert()

    def undo() -> None:
        if previous is None:
            destination.unlink(missing_ok=True)
        else:
            atomic_write(destination, previous[0], mode=previous[1])

    revert.add(undo)
    return revert


_UNIT_PATHS = re.compile(
    rb"/usr/local/bin/|/etc/teleport\.yaml|/var/run/teleport\.pid|/run/teleport\.pid"
)
_EXEC_START = re.compile(rb"^(ExecStart=[^\n]*?/teleport start)(?=[ \t\n]|$)([^\n]*)", re.MULTILINE)


def rewrite_unit(data: bytes, layout: Layout, *, fips: bool = False) -> bytes:
    """The unit as teleport-update writes it for ``layout``'s namespace.

    ``/usr/local/bin/`` becomes the link dir, ``/etc/teleport.yaml`` the agent config and
    ``/run/teleport.pid`` the PID file, in one pass over the bytes (nothing is decoded or
    re-encoded, and a replacement is never rewritten again). ``/var/run/teleport.pid``
    becomes ``/var`` + the PID file, as teleport-update's plain replacement makes it, when
    the PID file is under ``/run/``; under a test root it becomes the PID file itself.
    For a FIPS revision, ``teleport start`` gets ``--fips`` (teleport-update adds it too:
    FIPS builds must be started in FIPS mode).
    """
    pid = str(layout.pid_file)
    replacements = {
        b"/usr/local/bin/": f"{layout.link_dir}/".encode(),
        b"/etc/teleport.yaml": str(layout.agent_config).encode(),
        b"/var/run/teleport.pid": ("/var" + pid if pid.startswith("/run/") else pid).encode(),
        b"/run/teleport.pid": pid.encode(),
    }
    out = _UNIT_PATHS.sub(lambda m: replacements[m.group(0)], data)
    if fips:

        def add_fips(match: re.Match[bytes]) -> bytes:
            command, rest = match.group(1), match.group(2)
            if re.search(rb"(^|\s)--fips(\s|=|$)", rest):
                return match.group(0)
            return command + b" --fips" + rest

        out = _EXEC_START.sub(add_fips, out)
    return out


def _read_unit(path: Path, *, what: str) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_UNIT_BYTES + 1)
    except OSError as e:
        raise ArtifactError(f"{what} {path} is missing or unreadable: {e.strerror}") from e
    if len(data) > MAX_UNIT_BYTES:
        raise ArtifactError(f"refusing {what} {path}: it is over 1 MB")
    return data


def _revision_of(src_unit: Path, layout: Layout) -> Revision | None:
    try:
        relative = src_unit.relative_to(layout.versions_dir)
        return Revision.parse_dir_name(relative.parts[0])
    except (ValueError, IndexError, InvalidInput):
        return None


def unit_source(version_dir: Path) -> Path:
    return version_dir / UNIT_TARGET


def linked_revision(layout: Layout) -> str | None:
    """The version dir name the ``teleport`` link points into, or None."""
    link = layout.link_dir / "teleport"
    if not link.is_symlink():
        return None
    target = Path(os.path.normpath(os.path.join(layout.link_dir, os.readlink(link))))
    try:
        relative = target.relative_to(layout.versions_dir)
    except ValueError:
        return None
    return relative.parts[0] if relative.parts else None


def snapshot_links(link_dir: Path) -> dict[str, str]:
    """Every symlink in ``link_dir`` and its raw target: what ``restore_links`` brings back."""
    if not link_dir.is_dir():
        return {}
    return {p.name: os.readlink(p) for p in sorted(link_dir.iterdir()) if p.is_symlink()}


def restore_links(link_dir: Path, snapshot: dict[str, str], *, only_into: Path) -> None:
    """Make the symlinks of ``link_dir`` that point into ``only_into`` (the versions dir)
    exactly as in ``snapshot``. Regular files and unrelated links are never touched."""
    root = os.path.normpath(only_into)
    current = snapshot_links(link_dir)
    for name, target in current.items():
        absolute = os.path.normpath(os.path.join(link_dir, target))
        if name not in snapshot and absolute.startswith(root + os.sep):
            (link_dir / name).unlink()
    for name, target in snapshot.items():
        if current.get(name) != target:
            link_dir.mkdir(parents=True, exist_ok=True)
            _replace_symlink(link_dir / name, target)
