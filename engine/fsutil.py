"""Crash-safe file operations: atomic replace, and deletes that check where they point."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "fsync_dir", "safe_rmtree"]


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the new one, never a mix.

    Temp file in the same directory, fsync, rename over the target, fsync the directory.
    On any error the temp file is removed and the old file is untouched.
    """
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    fsync_dir(path.parent)


def safe_rmtree(path: Path, *, must_be_under: Path) -> None:
    """Delete ``path`` recursively, only if it sits strictly inside ``must_be_under``.

    A symlink is removed itself, never followed.
    """
    parent = must_be_under.resolve()
    location = path.parent.resolve()
    if path.name in {"", ".", ".."} or (location != parent and parent not in location.parents):
        raise ValueError(f"refusing to delete {str(path)!r}: not inside {str(must_be_under)!r}")
    target = location / path.name
    if target.is_symlink() or not target.is_dir():
        target.unlink(missing_ok=True)
        return
    shutil.rmtree(target)
