"""What Shepherd keeps on disk: the namespace layout, update.yaml, its own agent record, the
journal, history, the lock and the updater id.
"""

from __future__ import annotations

from engine.store.agent_record import AgentRecord, BadRevision, load_agent_record, save_agent_record
from engine.store.cache import FileCache, RecordCache
from engine.store.history import History, HistoryRecord
from engine.store.journal import Journal, JournalEntry, Step
from engine.store.layout import (
    DEFAULT_NAMESPACE,
    Layout,
    list_namespaces,
    resolve_layout,
    validate_namespace,
)
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import (
    LastUpdate,
    UpdateConfig,
    UpdateSpec,
    UpdateStatus,
    load_config,
    parse_config,
    render_config,
    save_config,
)
from engine.store.updater_id import load_or_create_updater_id

__all__ = [
    "DEFAULT_NAMESPACE",
    "AgentRecord",
    "BadRevision",
    "FileCache",
    "History",
    "HistoryRecord",
    "Journal",
    "JournalEntry",
    "LastUpdate",
    "Layout",
    "NamespaceLock",
    "RecordCache",
    "Step",
    "UpdateConfig",
    "UpdateSpec",
    "UpdateStatus",
    "list_namespaces",
    "load_agent_record",
    "load_config",
    "load_or_create_updater_id",
    "parse_config",
    "render_config",
    "resolve_layout",
    "save_agent_record",
    "save_config",
    "validate_namespace",
]
