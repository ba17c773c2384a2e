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
from collections.abc import Callable
from pathlib import Path

from engine.errors import ArtifactError
from engine.fsutil import atomic_write
from engine.install import UNIT_TARGET
from engine.layout import Layout

__all__ = ["MAX_UNIT_BYTES", "Revert", "copy_unit", "linked_revision", "switch_links"]

MAX_UNIT_BYTES = 1 << 20


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


def copy_unit(src_unit: Path, layout: Layout) -> Revert:
    """Copy the revision's unit to the namespace's unit path, rewriting its paths.

    Raises:
        ArtifactError: the unit is missing or larger than 1 MB.
    """
    try:
        size = src_unit.stat().st_size
    except OSError as e:
        raise ArtifactError(f"service unit {src_unit} is missing: {e.strerror}") from e
    if size > MAX_UNIT_BYTES:
        raise ArtifactError(f"refusing service unit {src_unit}: {size} bytes is over 1 MB")
    text = src_unit.read_text(errors="replace")
    text = (
        text.replace("/usr/local/bin/", f"{layout.link_dir}/")
        .replace("/etc/teleport.yaml", str(layout.agent_config))
        .replace("/run/teleport.pid", str(layout.pid_file))
    )
    destination = layout.unit_file
    previous = destination.read_bytes() if destination.is_file() else None
    destination.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(destination, text.encode(), mode=0o644)
    revert = Revert()

    def undo() -> None:
        if previous is None:
            destination.unlink(missing_ok=True)
        else:
            atomic_write(destination, previous, mode=0o644)

    revert.add(undo)
    return revert


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
