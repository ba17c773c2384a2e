"""``shepherd install``: set up a fresh agent namespace from its cluster's target.

What ``teleport-update enable`` does, and then what it leaves to the admin:

    1  refuse an existing installation (update.yaml, version dirs, binaries in the link dir,
       a known unit) unless forced, naming what exists
    2  find the target: the same cluster sources an update pass asks (v2 find, else v1)
    3  download it, SHA-256 verified, and install it side by side
    4  link its binaries and copy its unit; make the service manager know the unit
    5  enable and start the agent, and health-check it (the update's ``HealthCheck``)
    6  only then write update.yaml, and add the agent to Shepherd's managed agents

Every step registers its undo before the next one starts: a failure undoes all of them,
newest first (no links, no unit, no update.yaml, no version dir left), and says which step
failed. Both outcomes are in the agent's history.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput, ShepherdError, SourceError, StateError
from engine.fsutil import safe_rmtree
from engine.install.download import Progress
from engine.install.links import copy_unit, switch_links, unit_source
from engine.install.revisions import BINARIES, installed_checksum, remove_revision
from engine.service.base import ServiceManager
from engine.service.health import read_pid
from engine.sources.cluster import ask_cluster
from engine.store.history import History, HistoryRecord
from engine.store.layout import Layout
from engine.store.lock import NamespaceLock
from engine.store.update_yaml import (
    LastUpdate,
    UpdateConfig,
    UpdateSpec,
    UpdateStatus,
    save_config,
)
from engine.store.updater_id import load_or_create_updater_id
from engine.update.host import HostConfig
from engine.update.install_options import InstallReport, InstallRequest, agent_unit, config_proxy
from engine.update.operations import AgentOperations
from engine.update.outcome import UpdateContext
from engine.update.steps import AgentSteps
from engine.versions import Revision

__all__ = ["Installer"]

_log = logging.getLogger(__name__)


class _Undo:
    """What the steps so far did, undone newest first; each undo that fails is logged and
    the others still run."""

    def __init__(self) -> None:
        self._actions: list[tuple[str, Callable[[], object]]] = []

    def add(self, what: str, action: Callable[[], object]) -> None:
        self._actions.append((what, action))

    def __call__(self) -> list[str]:
        problems = []
        while self._actions:
            what, action = self._actions.pop()
            try:
                action()
            except (ShepherdError, OSError) as e:
                _log.error("undoing the install: %s failed: %s", what, e)
                problems.append(f"{what}: {e}")
        return problems


class Installer:
    """Installs one fresh agent namespace on ``host`` (see the module docstring).

    ``progress`` gets the download's progress, ``say`` one line per step as it begins.
    """

    def __init__(
        self,
        host: HostConfig,
        *,
        progress: Callable[[Progress], None] | None = None,
        say: Callable[[str], None] | None = None,
        who: str = "shepherd install",
    ) -> None:
        self.host = host
        self.progress = progress
        self.say = say or (lambda _: None)
        self.who = who

    def layout(self, request: InstallRequest) -> Layout:
        """The new namespace's paths: the host's (data dir from the agent config), with
        ``--link-dir`` placed under the host root."""
        layout = self.host.layout(request.namespace)
        if request.link_dir is None:
            return replace(layout, link_dir_override=None)
        path = Path(os.path.normpath(request.link_dir))
        if layout.root != Path("/") and not path.is_relative_to(layout.root):
            path = layout.under_root(str(path))
        return replace(layout, link_dir_override=path)

    def existing(self, layout: Layout, service: ServiceManager) -> list[str]:
        """What of an installation is already there (empty: the namespace is fresh)."""
        found = []
        if layout.update_yaml.exists():
            found.append(f"{layout.update_yaml} exists")
        if layout.versions_dir.is_dir() and any(layout.versions_dir.iterdir()):
            found.append(f"{layout.versions_dir} holds installed versions")
        binaries = [n for n in BINARIES if os.path.lexists(layout.link_dir / n)]
        if binaries:
            found.append(f"{layout.link_dir} already has {', '.join(binaries)}")
        if layout.unit_file.exists():
            found.append(f"the unit file {layout.unit_file} exists")
        elif service.is_enabled(layout.unit_name) or service.is_active(layout.unit_name):
            found.append(f"{service.name} already knows the unit {layout.unit_name}")
        return found

    def install(
        self, request: InstallRequest, *, uid: int | None, managed_now: Collection[str] = ()
    ) -> InstallReport:
        """Install, start and health-check the cluster's target in a fresh namespace.

        Raises:
            InvalidInput: a bad option, or no proxy given nor in the agent config.
            StateError: an installation exists and ``force`` is not set (names what), or
                the agent config is missing.
            LockTimeout: another updater holds the namespace.
            ShepherdError: a step failed (named); everything done before was undone.
        """
        layout = self.layout(request)
        service = self.host.service_manager()
        name = layout.namespace
        if not layout.agent_config.is_file():
            raise StateError(
                f"agent {name!r} has no config {layout.agent_config}: write it first (e.g. "
                f"'teleport configure -o {layout.recorded(layout.agent_config)} ...'), "
                "then install"
            )
        proxy = request.proxy or config_proxy(layout.agent_config)
        if not proxy:
            raise InvalidInput(
                f"no proxy: give --proxy, or set teleport.proxy_server in {layout.agent_config}"
            )
        existing = self.existing(layout, service)
        if existing and not request.force:
            raise StateError(
                f"agent {name!r} is already (partly) installed: {'; '.join(existing)}. "
                "Use --force to install over it, or 'shepherd agents add' to adopt it"
            )
        self.host.open_sandbox(layout)
        lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
        with lock.acquire(timeout=self.host.lock_timeout, who=f"{self.who} ({name})"):
            target = self._install_locked(request, layout, service, proxy, uid)
        notes = [f"an existing installation was overwritten: {'; '.join(existing)}"] * bool(
            existing
        )
        try:
            adopted = AgentOperations(self.host).adopt(name, uid=uid, managed_now=managed_now)
        except ShepherdError as e:
            notes.append(f"installed, but Shepherd could not adopt it: {e}")
        else:
            notes += adopted.notes
        message = f"installed agent {name!r} at {target}: {layout.unit_name} is running and healthy"
        return InstallReport(
            name, str(target), layout.unit_name, layout.recorded(layout.link_dir), message, notes
        )

    def _install_locked(
        self,
        request: InstallRequest,
        layout: Layout,
        service: ServiceManager,
        proxy: str,
        uid: int | None,
    ) -> Revision:
        history = History(layout.state_dir)
        undo = _Undo()
        step = "finding the target"
        target: Revision | None = None
        try:
            with self.host.client() as client:
                ctx = self._context(request, layout, client)
                self.say(f"asking the cluster at {proxy} for the target")
                target = self._target(ctx, request, proxy, undo)
                step = f"downloading and installing {target}"
                self.say(f"downloading and verifying {target}")
                if installed_checksum(layout.versions_dir, target) is None:
                    undo.add(f"removing {target}", lambda: _remove(layout, target))
                AgentSteps(ctx).install(target)
            step = "linking the binaries and writing the unit"
            self.say(f"linking {target} into {layout.link_dir} and writing {layout.unit_name}")
            self._link(layout, target, service, request.force, undo)
            step = f"enabling and starting {layout.unit_name}"
            self.say(f"starting {layout.unit_name} and checking its health")
            self._start(ctx, layout, service, undo)
            step = "writing update.yaml"
            save_config(layout.update_yaml, _config(request, layout, proxy, target, ctx))
        except (ShepherdError, OSError) as e:
            problems = undo()
            left = f"; undoing left problems: {'; '.join(problems)}" if problems else ""
            message = (
                f"installing agent {layout.namespace!r} failed while {step}: {e}; "
                f"everything it did was undone{left}"
            )
            _record(history, layout, "failed", "install-failed", message, target, uid)
            raise ShepherdError(message) from e
        _record(history, layout, "succeeded", "installed", f"installed {target}", target, uid)
        return target

    def _context(self, request: InstallRequest, layout: Layout, client: Any) -> UpdateContext:
        ctx = self.host.context(layout.namespace, client, progress=self.progress, who=self.who)
        base_url = request.base_url or ctx.base_url
        headers = ctx.download_headers if base_url == ctx.base_url else {}
        return replace(ctx, layout=layout, base_url=base_url, download_headers=headers)

    def _target(
        self, ctx: UpdateContext, request: InstallRequest, proxy: str, undo: _Undo
    ) -> Revision:
        layout = ctx.layout
        effective = self.host.effective(layout.namespace)
        update_id = None
        if not layout.id_file.exists():
            undo.add("removing the updater id", lambda: layout.id_file.unlink(missing_ok=True))
        with contextlib.suppress(OSError):
            update_id = load_or_create_updater_id(
                layout.id_file, layout.host_uuid_file, layout.machine_id_file
            )
        cluster = ask_cluster(
            ctx.client,
            proxy,
            group=request.group or effective.group.value,
            update_id=update_id,
            channel=effective.channel.value,
        )
        if cluster.failure is not None:
            raise SourceError(f"could not ask the cluster: {cluster.failure}")
        find, channel = cluster.find, cluster.channel
        target = None
        if find is not None and find.auto_update is not None:
            target = find.target(find.install_flags())
        elif channel is not None and channel.version is not None:
            flags = find.install_flags() if find is not None else frozenset()
            target = Revision(channel.version, flags)
        if target is None:
            raise SourceError(f"the cluster at {proxy} names no agent version to install")
        if find is not None and find.flags() is None and ctx.base_url is None:
            raise SourceError(
                f"the cluster's edition is {find.edition.value!r}: there are no such builds on "
                "the public CDN; give --base-url"
            )
        server = find.server_version if find is not None else None
        if server is not None and target.version.major > server.major:
            raise SourceError(f"the target {target} is newer than the cluster ({server})")
        return target

    def _link(
        self,
        layout: Layout,
        target: Revision,
        service: ServiceManager,
        force: bool,
        undo: _Undo,
    ) -> None:
        version_dir = layout.version_dir(target)
        made_link_dir = not layout.link_dir.exists()
        if made_link_dir:
            undo.add(f"removing {layout.link_dir}", lambda: _rmdir_if_empty(layout.link_dir))
        revert_links = switch_links(
            version_dir / "bin", layout.link_dir, versions_dir=layout.versions_dir, force=force
        )
        undo.add(f"unlinking {layout.link_dir}", revert_links)
        unit = agent_unit(layout)
        manager_reverts: list[Callable[[], None]] = []
        # registered first so that it runs after the unit file is back as it was
        undo.add(
            f"putting {unit.name} back in {service.name} as it was",
            lambda: [revert() for revert in manager_reverts],
        )
        revert_unit = copy_unit(unit_source(version_dir), layout, revision=target)
        undo.add(f"restoring {layout.unit_file}", revert_unit)
        manager_reverts.append(service.write_unit(unit))

    def _start(
        self, ctx: UpdateContext, layout: Layout, service: ServiceManager, undo: _Undo
    ) -> None:
        unit = layout.unit_name
        was_enabled, was_active = service.is_enabled(unit), service.is_active(unit)
        before = read_pid(layout.pid_file)
        if not was_enabled:
            undo.add(f"disabling {unit}", lambda: service.disable(unit))
        if not was_active:
            undo.add(f"stopping {unit}", lambda: service.stop(unit))
        service.enable(unit)
        if was_active:
            service.restart(unit)
        else:
            service.start(unit)
        health = ctx.health.check(
            layout.pid_file, layout.debug_socket, before, service=service, unit=unit
        )
        if not health.ok:
            raise ShepherdError(f"the agent failed its health check ({health.message})")


def _config(
    request: InstallRequest, layout: Layout, proxy: str, target: Revision, ctx: UpdateContext
) -> UpdateConfig:
    now = ctx.clock.now()
    return UpdateConfig(
        spec=UpdateSpec(
            proxy=proxy,
            path=str(layout.link_dir),
            group=request.group or "",
            base_url=request.base_url or "",
            enabled=True,
        ),
        status=UpdateStatus(
            id_file=str(layout.id_file),
            last_update=LastUpdate(True, now, target),
            active=target,
        ),
    )


def _remove(layout: Layout, target: Revision) -> None:
    if installed_checksum(layout.versions_dir, target) is not None:
        remove_revision(layout.versions_dir, target, linked=set())
    elif layout.version_dir(target).exists():  # unpacked, its marker not yet written
        safe_rmtree(layout.version_dir(target), must_be_under=layout.versions_dir)
    _rmdir_if_empty(layout.versions_dir)
    _rmdir_if_empty(layout.state_dir / "downloads")


def _rmdir_if_empty(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError, OSError):
        path.rmdir()


def _record(
    history: History,
    layout: Layout,
    outcome: str,
    reason: str,
    message: str,
    target: Revision | None,
    uid: int | None,
) -> None:
    history.record(
        HistoryRecord.now(
            agent=layout.namespace,
            event="install",
            outcome=outcome,
            reason=reason,
            message=message,
            to_revision=str(target) if target else None,
            uid=uid,
        )
    )
