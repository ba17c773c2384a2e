"""The package agent (a v1 host's ``teleport`` from apt/yum/zypper) as the daemon and the
command line see it, beside the v2 namespaces.

    agent = find_package_agent(host)             # None: no Teleport package installed
    managed = PackageAgentRunner(host, agent)
    managed.check(client, forced=False, dry_run=False, uid=0)   # -> PassResult
    managed.rollback(client, uid=0, reason="...")               # -> Outcome
    managed.status()                                            # the status answer's fields
    managed.adopt(uid=0) / managed.hand_back(uid=0)

Its name is ``package`` (``PACKAGE_AGENT``); its state and history live in
``<root>/var/lib/shepherd/package-agent``. Its repository (URL, signing key, apt suite) is
the host-only ``package.*`` settings; its channel is the v1 upgrader's ``endpoint`` file
when present, else ``agents.package.proxy`` + ``agents.package.channel``. Local windows and
blackouts are ``agents.package.windows`` / ``.blackouts`` as for any agent.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from engine.errors import InvalidInput, ShepherdError
from engine.names import DEFAULT_NAMESPACE
from engine.packages import (
    AptBackend,
    DnfBackend,
    ExactInstaller,
    PackageAgent,
    PackageRepo,
    Runner,
    ZypperBackend,
    detect_package_agent,
    restore_upgrade_timer,
    take_over_upgrade_timer,
)
from engine.policy.answers import ChannelAnswer
from engine.policy.decision import Action, Decision, Reason
from engine.service.health import HealthCheck
from engine.sources.channel import DEFAULT_CHANNEL, ChannelClient
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.history import History, HistoryRecord
from engine.store.layout import Layout
from engine.update.effective import effective_settings
from engine.update.outcome import Outcome
from engine.update.package_pass import PackageContext, PackageOutcome, PackagePass
from engine.update.update_pass import PassResult
from engine.versions import Revision, Version

if TYPE_CHECKING:
    from engine.update.host import HostConfig

__all__ = [
    "PACKAGE_AGENT",
    "PackageAgentRunner",
    "agent_files",
    "find_package_agent",
    "package_runner",
]

PACKAGE_AGENT = "package"


def package_runner(host: HostConfig) -> Runner:
    """Package-manager commands for ``host.root``: chrooted into it when it is not ``/``; on
    a booted systemd host, in transient units outside the daemon's read-only sandbox."""
    production = host.root == Path("/")
    booted = host.service == "systemd" and (host.root / "run/systemd/system").is_dir()
    return Runner(root=host.root, chroot=not production, transient=production and booted)


def agent_files(host: HostConfig) -> tuple[Path, Path]:
    """The package agent's PID file (``/run/teleport.pid``, as Teleport's packaged unit
    says) and debug socket (in ``teleport.data_dir`` of ``/etc/teleport.yaml``)."""
    layout = Layout.resolve(host.root, DEFAULT_NAMESPACE)
    return layout.pid_file, layout.debug_socket


def find_package_agent(host: HostConfig) -> PackageAgent | None:
    """The Teleport package installed on the host, or None (also when no package database
    can be asked)."""
    try:
        return detect_package_agent(package_runner(host))
    except ShepherdError:
        return None


@dataclass(frozen=True)
class PackageAgentRunner:
    """One package agent on one host: builds its ``PackagePass`` from the host's settings."""

    host: HostConfig
    agent: PackageAgent

    @property
    def state_dir(self) -> Path:
        return self.state_dir_of(self.host)

    @staticmethod
    def state_dir_of(host: HostConfig) -> Path:
        return host.state_dir / "package-agent"

    @property
    def history(self) -> History:
        return History(self.state_dir)

    def repository(self) -> PackageRepo | None:
        """The repository the settings name, or None when ``package.repository_url`` or
        ``package.signing_key`` is unset."""
        settings = self.host.settings
        url = settings.get_text("package.repository_url")
        key = settings.get_path("package.signing_key")
        if not url or key is None:
            return None
        suite, *components = (settings.get_text("package.suite") or "./").split()
        return PackageRepo(
            "teleport",
            url,
            key,
            ca_bundle=self.host.transport.ca_bundle,
            suite=suite,
            components=tuple(components),
        )

    def backend(self, repo: PackageRepo) -> ExactInstaller:
        runner = package_runner(self.host)
        if self.agent.database == "dpkg":
            return AptBackend(repo, runner)
        if self.agent.upgrader.installer == "zypper" or (
            shutil.which("zypper") and not shutil.which("dnf") and not shutil.which("yum")
        ):
            return ZypperBackend(repo, runner)
        return DnfBackend(repo, runner)

    def package_pass(self, client: httpx.Client, repo: PackageRepo) -> PackagePass:
        pid_file, debug_socket = agent_files(self.host)
        ctx = PackageContext(
            agent=self.agent,
            backend=self.backend(repo),
            service=self.host.service_manager(),
            health=HealthCheck(self.host.health, self.host.clock),
            state_dir=self.state_dir,
            pid_file=pid_file,
            debug_socket=debug_socket,
            name=PACKAGE_AGENT,
            clock=self.host.clock,
        )
        effective = effective_settings(self.host.settings, None, PACKAGE_AGENT)
        return PackagePass(ctx, self._channel(client), effective.policy())

    def _channel(self, client: httpx.Client) -> Callable[[], ChannelAnswer]:
        endpoint = self.agent.upgrader.endpoint
        settings = self.host.settings
        if endpoint:
            url = endpoint if "://" in endpoint else f"https://{endpoint}"
            source = ChannelClient(client, base_url=url)
        else:
            proxy = settings.get_text(f"agents.{PACKAGE_AGENT}.proxy")
            if not proxy:
                raise InvalidInput(
                    f"the package agent has no v1 channel: {self.agent.upgrader.directory}"
                    f"/endpoint is missing and agents.{PACKAGE_AGENT}.proxy is not set"
                )
            channel = settings.get_text(f"agents.{PACKAGE_AGENT}.channel") or DEFAULT_CHANNEL
            source = ChannelClient(client, proxy_address=proxy, channel=channel)
        return source.get

    # ---- what the daemon asks ------------------------------------------------------------
    def check(
        self, client: httpx.Client, *, forced: bool, dry_run: bool, uid: int | None
    ) -> PassResult:
        repo = self.repository()
        if repo is None:
            return PassResult(PACKAGE_AGENT, self._no_repository())
        runner = self.package_pass(client, repo)
        if dry_run:
            return PassResult(PACKAGE_AGENT, runner.explain(forced=forced))
        runner.ctx.backend.configure()  # the repository settings may have changed
        before = self._installed()
        done = runner.run(forced=forced, uid=uid)
        repaired = (
            Outcome(True, "repaired", "; ".join(done.repaired), None, None)
            if done.repaired
            else None
        )
        outcome = None if not done.event else _outcome(done, before)
        return PassResult(PACKAGE_AGENT, done.decision, outcome, repaired)

    def rollback(self, client: httpx.Client, *, uid: int | None, reason: str) -> Outcome:
        repo = self.repository()
        if repo is None:
            return Outcome(False, "not-configured", self._no_repository().message, None, None)
        runner = self.package_pass(client, repo)
        runner.ctx.backend.configure()
        before = self._installed()
        return _outcome(runner.rollback(uid=uid, reason=reason), before)

    def take_over(self) -> list[str]:
        """Trust the repository, hold the version, take over the v1 timer (idempotent: the
        daemon does it whenever it starts managing the agent). Returns notes for the admin.

        Raises:
            PackageError, StateError: the repository, hold or timer could not be set up.
        """
        notes: list[str] = []
        repo = self.repository()
        if repo is None:
            notes.append(self._no_repository().message)
        else:
            backend = self.backend(repo)
            backend.configure()
            if not backend.is_locked(self.agent.package):
                backend.lock(self.agent.package)
        notes.extend(take_over_upgrade_timer(package_runner(self.host), self.state_dir))
        return notes

    def adopt(self, *, uid: int | None) -> list[str]:
        """Start managing (``take_over``), recorded in the history."""
        notes = self.take_over()
        self._record("adopt", "agent-added", f"Shepherd now manages {self._described()}", uid)
        return notes

    def hand_back(self, *, uid: int | None) -> None:
        """Stop managing: release the version lock and give the v1 timer back."""
        repo = self.repository()
        if repo is not None:
            self.backend(repo).release(self.agent.package)
        restore_upgrade_timer(package_runner(self.host), self.state_dir)
        self._record(
            "remove",
            "agent-removed",
            f"Shepherd no longer manages {self._described()}; its version lock is released",
            uid,
        )

    @staticmethod
    def set_spec(
        host: HostConfig, changes: Mapping[str, bool], *, uid: int | None
    ) -> dict[str, Any]:
        """Pin, unpin, enable or disable the package agent (Shepherd's own ``spec.json``: it
        has no update.yaml); idempotent, recorded in its history."""
        state_dir = PackageAgentRunner.state_dir_of(host)
        changed = PackagePass.save_spec(state_dir, dict(changes))
        words = ", ".join(f"{k}={'true' if v else 'false'}" for k, v in changes.items())
        History(state_dir).record(
            HistoryRecord.now(
                agent=PACKAGE_AGENT,
                event="settings",
                outcome="changed" if changed else "unchanged",
                reason="spec-" + "-".join(changes),
                message=f"package agent spec: {words}",
                uid=uid,
            )
        )
        return {"agent": PACKAGE_AGENT, "changed": changed, **changes}

    def clear_bad(self, version: str, *, uid: int | None) -> dict[str, Any]:
        """Forget that ``version`` failed here (the bad list and the skipped version)."""
        wanted = Version.parse(version)
        record = load_agent_record(self.state_dir)
        cleared = [r for r in record.bad_revisions() if r.version == wanted]
        for revision in cleared:
            record = record.clear_bad(revision)
        if cleared:
            save_agent_record(self.state_dir, record)
        skipped = PackagePass.recorded(self.state_dir).get("skip") == str(wanted)
        if skipped:
            PackagePass.save_recorded(self.state_dir, skip="")
        found = bool(cleared) or skipped
        self.history.record(
            HistoryRecord.now(
                agent=PACKAGE_AGENT,
                event="clear-bad",
                outcome="changed" if found else "unchanged",
                reason="clear-bad",
                message=f"{wanted} may be installed again"
                if found
                else f"{wanted} was not marked bad",
                to_revision=str(wanted),
                uid=uid,
            )
        )
        return {"agent": PACKAGE_AGENT, "version": str(wanted), "cleared": found}

    def status(self) -> dict[str, Any]:
        """The fields of a status answer that come from the package agent's own records."""
        repo = self.repository()
        record = load_agent_record(self.state_dir)
        own = PackagePass.recorded(self.state_dir)
        problems: list[str] = []
        locked: bool | None = None
        if repo is None:
            problems.append(self._no_repository().message)
        else:
            try:
                locked = self.backend(repo).is_locked(self.agent.package)
            except ShepherdError as e:
                problems.append(str(e))
        spec = PackagePass.load_spec(self.state_dir)
        spec_source = f"Shepherd ({self.state_dir}/spec.json)"
        state = self.agent.state
        if not state.configured:
            problems.append(f"{state.name} {state.version} is half-installed ({state.status})")
        return {
            "kind": "package",
            "package": state.name,
            "version": state.version,
            "manager": self.agent.database,
            "locked": locked,
            "enabled": spec["enabled"],
            "pinned": spec["pinned"],
            "spec_source": spec_source,
            "repository": {"url": repo.url, "key_file": str(repo.key_file)} if repo else None,
            "active": state.version,
            "backup": own.get("backup") or None,
            "versions_installed": [],  # the repository keeps the versions, not a version dir
            "rollback_refused": None if own.get("backup") else "there is no backup version",
            "skip": own.get("skip") or None,
            "bad": {name: asdict(bad) for name, bad in record.bad.items()},
            "last_failure": record.last_failure or None,
            "failed": {},
            "problems": problems,
        }

    @property
    def installed_revision(self) -> str | None:
        """The installed package as a revision's text (its edition's flags too)."""
        installed = self._installed()
        return str(installed) if installed is not None else None

    # ---- helpers ---------------------------------------------------------------------------
    def _installed(self) -> Revision | None:
        return PackagePass.revision_of(self.agent, self.agent.state.version)

    def _described(self) -> str:
        return f"the package agent {self.agent.package} {self.agent.state.version}"

    def _no_repository(self) -> Decision:
        return Decision(
            Action.NOTHING,
            Reason.NOT_CONFIGURED,
            f"{self._described()} has no package repository to update from: give "
            "package.repository_url and package.signing_key (host-only settings)",
        )

    def _record(self, event: str, reason: str, message: str, uid: int | None) -> None:
        self.history.record(
            HistoryRecord.now(
                agent=PACKAGE_AGENT,
                event=event,
                outcome="changed",
                reason=reason,
                message=message,
                uid=uid,
                extra={"package": self.agent.package},
            )
        )


def _outcome(done: PackageOutcome, before: Revision | None) -> Outcome:
    return Outcome(
        ok=done.ok,
        reason=done.event or "nothing",
        message=done.message or done.decision.message,
        target=done.decision.target,
        previous=before,
    )
