"""``shepherd uninstall``: remove an agent namespace, as ``teleport-update uninstall`` does.

1  a package-installed Teleport is there (``/opt/teleport/system``, the package's layout
   since Teleport 17; the default namespace only): link its binaries, copy its unit and
   restart the agent on it, health-checked. A failure puts links and unit back and
   restarts the agent as it was
2  otherwise, refuse while the agent's service is running or enabled — removing would
   leave it without binaries — unless forced; forced (or stopped and disabled): stop,
   disable and remove its unit
3  unlink what points into the namespace's versions, remove the versions and update.yaml
4  stop managing it (Shepherd's history of the namespace stays, with this in it)
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ShepherdError, StateError
from engine.fsutil import safe_rmtree
from engine.install.links import copy_unit, snapshot_links, switch_links
from engine.install.revisions import UNIT_TARGET, list_revisions, remove_revision
from engine.names import DEFAULT_NAMESPACE, validate_namespace
from engine.service.base import ServiceManager
from engine.service.foreign import save_disabled
from engine.service.health import HealthCheck
from engine.service.restore import restart_and_check
from engine.store.history import History, HistoryRecord
from engine.store.layout import Layout
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import load_config
from engine.update.host import HostConfig
from engine.update.install_options import agent_unit
from engine.update.managed import ManagedAgents

__all__ = ["UninstallReport", "package_bin_dir", "uninstall"]


@dataclass(frozen=True)
class UninstallReport:
    agent: str
    removed: list[str]
    handed_back: bool = False
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "removed": self.removed,
            "handed_back": self.handed_back,
            "notes": self.notes,
        }


def package_bin_dir(layout: Layout) -> Path | None:
    """The binaries of a package-installed Teleport to hand the namespace back to, or None
    (only the default namespace has one: the package's own agent is ``teleport.service``)."""
    if layout.namespace != DEFAULT_NAMESPACE:
        return None
    bin_dir = layout.under_root("/opt/teleport/system/bin")
    return bin_dir if os.access(bin_dir / "teleport", os.X_OK) else None


def uninstall(
    host: HostConfig, namespace: str, *, force: bool, uid: int | None, who: str = "shepherd"
) -> UninstallReport:
    """Remove ``namespace``'s installation (see the module docstring).

    Raises:
        StateError: it has no update.yaml; or it would be left running without binaries
            and ``force`` is not set (the message says what to do).
        LockTimeout: another updater holds the namespace.
        ShepherdError: handing back to the package failed (undone), or a step failed.
    """
    layout = host.layout(validate_namespace(namespace))
    name = layout.namespace
    if load_config(layout.update_yaml) is None:
        raise StateError(f"agent {name!r} is not installed here: {layout.update_yaml} is missing")
    service = host.service_manager()
    package = package_bin_dir(layout)
    lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
    with lock.acquire(timeout=host.lock_timeout, who=f"{who} uninstall ({name})"):
        if package is not None:
            notes = _hand_back(layout, service, HealthCheck(host.health, host.clock), package)
        else:
            notes = _remove_service(layout, service, force=force)
        removed = _remove_files(layout)
    ManagedAgents(host).remove(name)
    save_disabled(layout.state_dir, [])  # its foreign updater timers have nothing to update
    handed = f"; handed back to the package in {layout.recorded(package)}" if package else ""
    message = f"uninstalled agent {name!r}: removed {', '.join(removed) or 'nothing'}{handed}"
    History(layout.state_dir).record(
        HistoryRecord.now(
            agent=name,
            event="uninstall",
            outcome="succeeded",
            reason="handed-back" if package else "uninstalled",
            message=message,
            uid=uid,
            extra={"force": force},
        )
    )
    return UninstallReport(name, removed, package is not None, notes)


def _hand_back(
    layout: Layout, service: ServiceManager, health: HealthCheck, package: Path
) -> list[str]:
    """Link the package's binaries and unit; restart the agent on them if it ran."""
    unit = layout.unit_name
    running = service.is_active(unit)
    revert_links = switch_links(package, layout.link_dir, versions_dir=layout.versions_dir)
    package_unit = package.parent / UNIT_TARGET
    revert_unit = copy_unit(package_unit, layout) if package_unit.is_file() else None
    service.daemon_reload()
    if not running:
        return [f"{unit} was not running: it is left stopped, on the package's binaries"]
    result = restart_and_check(service, unit, health, layout.pid_file, layout.debug_socket)
    if result.ok:
        return []
    if revert_unit is not None:
        revert_unit()
    revert_links()
    service.daemon_reload()
    back = restart_and_check(service, unit, health, layout.pid_file, layout.debug_socket)
    again = "" if back.ok else f"; the agent is not healthy on it either ({back.message})"
    raise ShepherdError(
        f"the package's agent failed its health check ({result.message}): agent "
        f"{layout.namespace!r} is back on its own installation, nothing was removed{again}"
    )


def _remove_service(layout: Layout, service: ServiceManager, *, force: bool) -> list[str]:
    unit = agent_unit(layout)
    running, enabled = service.is_active(unit.name), service.is_enabled(unit.name)
    if (running or enabled) and not force:
        state = " and ".join(w for w, on in (("running", running), ("enabled", enabled)) if on)
        raise StateError(
            f"refusing to uninstall agent {layout.namespace!r}: {unit.name} is {state} and "
            "there is no package-installed Teleport (/opt/teleport/system) to hand it back "
            "to, so it would be left without binaries. Stop and disable it first, or use "
            "--force to stop, disable and remove it"
        )
    service.stop(unit.name)
    service.disable(unit.name)
    service.remove_unit(unit)
    layout.unit_file.unlink(missing_ok=True)  # the copy a supervisord host keeps too
    return [f"stopped, disabled and removed {unit.name}"] if running or enabled else []


def _remove_files(layout: Layout) -> list[str]:
    """Unlink what points into the versions, then remove them and update.yaml."""
    removed = []
    versions = os.path.normpath(layout.versions_dir) + os.sep
    for name, target in snapshot_links(layout.link_dir).items():
        absolute = os.path.normpath(os.path.join(layout.link_dir, target))
        if absolute.startswith(versions):
            (layout.link_dir / name).unlink()
            removed.append(f"the link {layout.link_dir / name}")
    for revision in list_revisions(layout.versions_dir):
        remove_revision(layout.versions_dir, revision, linked=set())
        removed.append(str(revision))
    if layout.versions_dir.exists():
        safe_rmtree(layout.versions_dir, must_be_under=layout.namespace_dir)
    if layout.link_dir == layout.namespace_dir / "bin":
        with contextlib.suppress(OSError):
            layout.link_dir.rmdir()  # the namespace's own link dir, when nothing else is in it
    layout.update_yaml.unlink(missing_ok=True)
    removed.append(str(layout.recorded(layout.update_yaml)))
    return removed
