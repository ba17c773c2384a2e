"""Records parsed once per file change: ``update.yaml``, Shepherd's agent record, and the
layout they and the agent config resolve to.

    records = RecordCache()                    # one per daemon, passed down
    layout = records.layout(root, namespace)   # as Layout.resolve
    config = records.config(layout.update_yaml)
    state = records.agent_record(layout.state_dir)

A status answer reads every agent's files; parsing them each time cost milliseconds per
agent. A cached value is reused while the file's (st_dev, st_ino, st_size, st_mtime_ns) is
unchanged: Shepherd and teleport-update replace these files by rename (a new inode), and a
hand edit changes the size or the mtime. The file is stat-ed before and after it is parsed
and the value is kept only if both agree, so a file changing mid-read is parsed again next
time. Errors are not cached: a broken file raises each time, as the loaders do. The values
are the loaders' own (frozen dataclasses); callers must not mutate their mappings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from engine.store.agent_record import FILE_NAME as AGENT_RECORD_FILE
from engine.store.agent_record import AgentRecord, load_agent_record
from engine.store.layout import Layout, resolve_layout
from engine.store.update_yaml import UpdateConfig, load_config

__all__ = ["FileCache", "RecordCache"]

T = TypeVar("T")
_Key = tuple[int, int, int, int]


def _key(path: Path) -> _Key | None:
    try:
        status = path.stat()
    except OSError:
        return None  # missing or unreadable: the loader says what that means
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


class FileCache(Generic[T]):
    """``loader(path)``, remembered per path until the file changes. Thread-safe."""

    def __init__(self, loader: Callable[[Path], T]) -> None:
        self._loader = loader
        self._entries: dict[Path, tuple[_Key, T]] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> T:
        before = _key(path)
        if before is not None:
            with self._lock:
                entry = self._entries.get(path)
            if entry is not None and entry[0] == before:
                return entry[1]
        value = self._loader(path)
        with self._lock:
            if before is not None and _key(path) == before:
                self._entries[path] = (before, value)
            else:
                self._entries.pop(path, None)
        return value


class RecordCache:
    """The parsed ``update.yaml`` and agent record of every agent the daemon reads."""

    def __init__(self) -> None:
        self._configs = FileCache(load_config)
        self._states = FileCache(lambda path: load_agent_record(path.parent))
        self._layouts: dict[tuple[Path, str], tuple[tuple[_Key | None, _Key | None], Layout]] = {}
        self._bases: dict[tuple[Path, str], Layout] = {}  # the default paths, to stat them
        self._lock = threading.Lock()

    def layout(self, root: Path, namespace: str) -> Layout:
        """As ``Layout.resolve``: re-resolved when update.yaml or the agent config change."""
        with self._lock:
            base = self._bases.get((root, namespace))
        if base is None:
            base = Layout(root, namespace)
            with self._lock:
                self._bases[(root, namespace)] = base
        key = (_key(base.update_yaml), _key(base.agent_config))
        with self._lock:
            entry = self._layouts.get((root, base.namespace))
        if entry is not None and entry[0] == key:
            return entry[1]
        layout = resolve_layout(root, base.namespace)
        if (_key(base.update_yaml), _key(base.agent_config)) == key:
            with self._lock:
                self._layouts[(root, base.namespace)] = (key, layout)
        return layout

    def config(self, update_yaml: Path) -> UpdateConfig | None:
        """As ``load_config``."""
        return self._configs.get(update_yaml)

    def agent_record(self, state_dir: Path) -> AgentRecord:
        """As ``load_agent_record``."""
        return self._states.get(state_dir / AGENT_RECORD_FILE)
