"""What an admin does to an agent besides updating it, each under the agent's lock.

    ops = AgentOperations(host)
    ops.set_spec("default", {"pinned": True}, uid=1000, who="shepherd daemon")
    ops.clear_bad("default", "17.2.1", uid=0, who="shepherd clear-bad --local")
    ops.skip_version("default", "17.2.1", reason="skipped from the tray", uid=1000)
    ops.adopt("staging", uid=0)
    ops.hand_back("staging", uid=0)

Every change to an agent's records (``update.yaml`` and Shepherd's own agent record) reads
and writes them while holding the namespace lock that updates, rollbacks and
teleport-update also take, so an operation can never write back a record that an update
changed meanwhile. Each one leaves a history record with who asked. The daemon and the
local command line both call these; the daemon adds its own bookkeeping (poll loops,
events) around them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import StateError
from engine.install.adopt import inspect_namespace
from engine.names import validate_namespace
from engine.service.foreign import foreign_timer_names, load_disabled, save_disabled
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.history import History, HistoryRecord
from engine.store.layout import Layout
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import load_config, save_config
from engine.update.host import HostConfig
from engine.update.managed import ManagedAgents
from engine.update.package_agent import PACKAGE_AGENT, PackageAgentRunner
from engine.versions import Revision, Version

__all__ = ["SPEC_ACTIONS", "AdoptReport", "AgentOperations"]

# The spec changes the API and the CLI offer, by the verb that asks for them.
SPEC_ACTIONS: Mapping[str, Mapping[str, bool]] = {
    "pin": {"pinned": True},
    "unpin": {"pinned": False},
    "enable": {"enabled": True},
    "disable": {"enabled": False},
}


@dataclass(frozen=True)
class AdoptReport:
    agent: str
    active: str | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    already: bool = False

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "agent": self.agent,
            "active": self.active,
            "problems": self.problems,
            "notes": self.notes,
        }
        if self.already:
            data["already"] = True
        return data


class AgentOperations:
    """Pin, unpin, enable, disable, clear-bad, adopt and hand back, for one host.

    Raises (every method): ``LockTimeout`` when another updater holds the agent's lock past
    the host's lock timeout; ``InvalidInput`` for a bad name or version; ``StateError``
    when the agent's files are missing or unreadable.
    """

    def __init__(self, host: HostConfig) -> None:
        self.host = host
        self.managed = ManagedAgents(host)

    @contextlib.contextmanager
    def _locked(self, layout: Layout, who: str) -> Iterator[None]:
        lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
        with lock.acquire(timeout=self.host.lock_timeout, who=who):
            yield

    def set_spec(
        self, namespace: str, changes: Mapping[str, bool], *, uid: int | None, who: str
    ) -> dict[str, Any]:
        """Change ``update.yaml``'s spec (``pinned``, ``enabled``); idempotent. The package
        agent, which has no update.yaml, keeps them in Shepherd's own state."""
        if namespace == PACKAGE_AGENT:
            return PackageAgentRunner.set_spec(self.host, changes, uid=uid)
        layout = self.host.layout(namespace)
        with self._locked(layout, f"{who} (settings)"):
            config = load_config(layout.update_yaml)
            if config is None:
                raise StateError(f"{layout.update_yaml} does not exist")
            before = {k: getattr(config.spec, k) for k in changes}
            if before != dict(changes):
                save_config(layout.update_yaml, config.with_spec(**changes))
        changed = {k: v for k, v in changes.items() if before[k] != v}
        words = ", ".join(f"{k}={'true' if v else 'false'}" for k, v in changes.items())
        self._record(
            layout,
            event="settings",
            outcome="changed" if changed else "unchanged",
            reason="spec-" + "-".join(changes),
            message=f"update.yaml spec: {words}",
            uid=uid,
            extra={"spec": dict(changes)},
        )
        return {"agent": layout.namespace, "changed": changed, **changes}

    def clear_bad(
        self, namespace: str, version: str, *, uid: int | None, who: str
    ) -> dict[str, Any]:
        """Forget that ``version`` failed here (Shepherd's bad list and update.yaml's
        ``skip``); ``cleared`` in the answer says whether it was marked at all."""
        layout = self.host.layout(namespace)
        wanted = Version.parse(version)
        skip_cleared = False
        with self._locked(layout, f"{who} (clear)"):
            record = load_agent_record(layout.state_dir)
            cleared = [r for r in record.bad_revisions() if r.version == wanted]
            failed = str(wanted) in record.failed
            if cleared or failed:
                for revision in cleared:
                    record = record.clear_bad(revision)
                save_agent_record(layout.state_dir, record.forget_failure(str(wanted)))
            config = load_config(layout.update_yaml)
            if config and config.status.skip and config.status.skip.version == wanted:
                save_config(layout.update_yaml, config.with_status(skip=None))
                skip_cleared = True
        found = bool(cleared) or failed or skip_cleared
        self._record(
            layout,
            event="clear-bad",
            outcome="changed" if found else "unchanged",
            reason="clear-bad",
            message=f"{wanted} may be installed again" if found else f"{wanted} was not marked bad",
            to_revision=str(wanted),
            uid=uid,
        )
        return {"agent": layout.namespace, "version": str(wanted), "cleared": found}

    def skip_version(
        self, namespace: str, revision: str, *, reason: str, uid: int | None
    ) -> dict[str, Any]:
        """Remember ``revision`` (a dir name, e.g. ``17.2.1_ent``) as bad here without
        installing it, so no pass installs it until ``clear_bad``; idempotent."""
        layout = self.host.layout(namespace)
        wanted = Revision.parse_dir_name(revision)
        with self._locked(layout, "shepherd daemon (skip)"):
            if load_config(layout.update_yaml) is None:
                raise StateError(f"{layout.update_yaml} does not exist")
            record = load_agent_record(layout.state_dir)
            already = wanted in record.bad_revisions()
            if not already:
                save_agent_record(layout.state_dir, record.mark_bad(wanted, reason, uid))
        self._record(
            layout,
            event="skip",
            outcome="unchanged" if already else "changed",
            reason="skip-version",
            message=f"{wanted} skipped: it is not installed until allowed again ({reason})",
            to_revision=str(wanted),
            uid=uid,
        )
        return {"agent": layout.namespace, "revision": str(wanted), "skipped": not already}

    def adopt(
        self, namespace: str, *, uid: int | None, managed_now: Collection[str] | None = None
    ) -> AdoptReport:
        """Manage ``namespace`` from now on; refuses one that is not a usable namespace.

        ``managed_now``: the agents the caller already runs (the daemon's poll loops);
        default: the managed-agents list.
        """
        name = validate_namespace(namespace)
        layout = self.host.layout(name)
        report = inspect_namespace(layout)
        if not report.managed:
            raise StateError(
                f"cannot adopt agent {name!r}: " + "; ".join(report.problems or ("not found",))
            )
        active = str(report.active) if report.active else None
        current = self.managed.names() if managed_now is None else managed_now
        notes = list(report.notes)
        disabled = self._disable_foreign(layout)
        if disabled:
            notes.append(f"turned off Teleport's own updater: {', '.join(disabled)}")
        if name in current:
            return AdoptReport(name, active, list(report.problems), notes, True)
        self.managed.add(name)
        took_over = f"; turned off {', '.join(disabled)}" if disabled else ""
        self._record(
            layout,
            event="adopt",
            outcome="changed",
            reason="agent-added",
            message=f"Shepherd now manages agent {name!r} (active {report.active}){took_over}",
            uid=uid,
        )
        return AdoptReport(name, active, list(report.problems), notes)

    def _disable_foreign(self, layout: Layout) -> list[str]:
        """Turn off the foreign updater timers of ``layout``'s namespace, adding them to
        what Shepherd recorded it disabled (so hand back turns all of them on again)."""
        turned_off = self.host.foreign_updaters().disable(layout.namespace)
        if not turned_off:
            return []
        with self._locked(layout, "shepherd (adopt)"):
            known = load_disabled(layout.state_dir)
            units = {t.unit for t in known}
            save_disabled(layout.state_dir, known + [t for t in turned_off if t.unit not in units])
        return [t.unit for t in turned_off]

    def hand_back(self, namespace: str, *, uid: int | None) -> None:
        """Stop managing ``namespace``; its files are untouched, and the foreign updater
        timers adopting it turned off are turned on again (exactly those)."""
        name = validate_namespace(namespace)
        layout = self.host.layout(name)
        self.managed.remove(name)
        allowed = set(foreign_timer_names(name))
        restored = [t for t in load_disabled(layout.state_dir) if t.unit in allowed]
        self.host.foreign_updaters().restore(restored)
        save_disabled(layout.state_dir, [])
        back = f"; turned {', '.join(t.unit for t in restored)} on again" if restored else ""
        self._record(
            layout,
            event="remove",
            outcome="changed",
            reason="agent-removed",
            message=f"Shepherd no longer manages agent {name!r} (its files are untouched){back}",
            uid=uid,
        )

    def _record(self, layout: Layout, **fields: Any) -> None:
        History(layout.state_dir).record(HistoryRecord.now(agent=layout.namespace, **fields))
