"""Recognise a namespace that ``teleport-update`` (or Shepherd) already manages.

``inspect_namespace`` reads ``update.yaml``, the installed version dirs and the links, and
reports what it found without changing anything, so Shepherd can take over a host as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import StateError
from engine.install.links import linked_revision
from engine.install.revisions import installed_checksum, list_revisions
from engine.store.layout import Layout
from engine.store.update_yaml import UpdateConfig, load_config
from engine.versions import Revision

__all__ = ["NamespaceReport", "inspect_namespace"]


@dataclass(frozen=True)
class NamespaceReport:
    namespace: str
    config: UpdateConfig | None
    installed: tuple[Revision, ...]
    linked: str | None
    problems: tuple[str, ...] = field(default=())
    notes: tuple[str, ...] = field(default=())

    @property
    def managed(self) -> bool:
        """An update.yaml is present: the namespace can be managed as it is."""
        return self.config is not None

    @property
    def active(self) -> Revision | None:
        return self.config.status.active if self.config else None

    @property
    def healthy(self) -> bool:
        return self.managed and not self.problems


def inspect_namespace(layout: Layout) -> NamespaceReport:
    problems: list[str] = []
    try:
        config = load_config(layout.update_yaml)
    except StateError as e:
        return NamespaceReport(layout.namespace, None, (), None, (str(e),))
    installed = tuple(list_revisions(layout.versions_dir))
    linked = linked_revision(layout)
    if config is None:
        problems.append(f"no {layout.update_yaml}: this namespace is not managed yet")
        return NamespaceReport(layout.namespace, None, installed, linked, tuple(problems))
    active = config.status.active
    backup = config.status.backup
    if active is None:
        problems.append("update.yaml records no active version")
    elif installed_checksum(layout.versions_dir, active) is None:
        problems.append(f"active version {active} is not installed completely")
    elif linked != active.dir_name:
        problems.append(
            f"the teleport link points to {linked or 'nothing'}, not the active {active}"
        )
    notes = []
    if backup is not None and installed_checksum(layout.versions_dir, backup) is None:
        notes.append(f"backup version {backup} is no longer installed; rollback is unavailable")
    return NamespaceReport(
        layout.namespace, config, installed, linked, tuple(problems), tuple(notes)
    )
