"""The status answer of one agent: what its files say, what the daemon knows of it, its
effective settings with their sources, its health now, and the problems worth saying."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.api.schema import DecisionAnswer, OfferAnswer, WindowAnswer
from engine.daemon.runtime import AgentRuntime
from engine.errors import InvalidSchedule, StateError
from engine.install.revisions import installed_checksum, list_revisions
from engine.policy.rollback import rollback_refusal
from engine.policy.schedule import ExportedSchedule
from engine.service.health import read_pid, readyz
from engine.store.cache import RecordCache
from engine.update.effective import effective_settings
from engine.update.host import HostConfig
from engine.update.package_agent import PACKAGE_AGENT, PackageAgentRunner, agent_files
from engine.update.report import decision_json, offer_json, revision_json
from engine.update.update_pass import failed_versions

__all__ = [
    "RUNTIME_KEYS",
    "HealthOf",
    "agent_health",
    "agent_status",
    "exported_windows",
    "health_now",
    "offer_now",
    "package_status",
    "runtime_fields",
]


HealthOf = Callable[[Path, Path], dict[str, Any]]  # (pid_file, debug_socket) -> health


def agent_status(
    host: HostConfig,
    agent: AgentRuntime,
    *,
    managed: set[str],
    settings_problem: str | None,
    records: RecordCache,
    health: HealthOf | None = None,
) -> dict[str, Any]:
    """Blocking (reads files, probes the agent); the records parsed once per file change.
    ``health(pid_file, debug_socket)``: the agent's health (default: ``health_now``)."""
    health = health or health_now
    layout = records.layout(host.root, agent.namespace)
    problems: list[str] = []
    try:
        config = records.config(layout.update_yaml)
    except StateError as e:
        config = None
        problems.append(str(e))
    record = records.agent_record(layout.state_dir)
    spec = config.spec if config else None
    status = config.status if config else None
    effective = effective_settings(host.settings, config, agent.namespace, host.overrides)
    proxy = effective.proxy.value
    group = effective.group.value or ("default" if spec else None)
    for name in host.canary_order:
        if name not in managed:
            problems.append(
                f"canary.order names {name!r}, which is not a managed agent: the other "
                "agents wait for it forever"
            )
    for name, ours, source in (
        ("proxy", proxy, effective.proxy.source),
        ("group", group, effective.group.source),
    ):
        theirs = getattr(spec, name, "") if spec else ""
        if spec and source.startswith("settings") and theirs and theirs != ours:
            problems.append(
                f"Shepherd's settings use {name} {ours!r} but update.yaml says {theirs!r}: "
                "teleport-update on this host would use that one"
            )
    if settings_problem:
        problems.append(settings_problem)
    last = status.last_update if status else None
    backup = status.backup if status else None
    backup_installed = bool(backup and installed_checksum(layout.versions_dir, backup) is not None)
    refusal = rollback_refusal(
        agent.namespace,
        active=status.active if status else None,
        backup=backup,
        backup_installed=backup_installed,
        skip=status.skip if status else None,
        failed_target=status.failed_target if status else None,
        bad=record.bad_revisions(),
    )
    return {
        "agent": agent.namespace,
        "kind": "v2",
        "enabled": spec.enabled if spec else None,
        "pinned": spec.pinned if spec else None,
        "proxy": proxy,
        "group": group,
        "effective": effective.sources(),
        "active": revision_json(status.active if status else None),
        "backup": revision_json(status.backup if status else None),
        "backup_installed": backup_installed,
        "versions_installed": [r.dir_name for r in list_revisions(layout.versions_dir)],
        "rollback_refused": refusal.message if refusal else None,
        "skip": revision_json(status.skip if status else None),
        "last_update": {
            "success": last.success,
            "time": last.time.isoformat() if last.time else None,
            "target": revision_json(last.target),
        }
        if last
        else None,
        "bad": {name: asdict(bad) for name, bad in record.bad.items()},
        "last_failure": record.last_failure or None,
        "failed": {
            version: {
                "kind": failed.kind.value,
                "why": failed.kind.words,
                "message": failed.message,
                "time": failed.time.isoformat(),
                "tries": failed.tries,
                "retry_at": _iso(effective.retry.retry_at(failed)),
            }
            for version, failed in failed_versions(record).items()
        },
        "health": health(layout.pid_file, layout.debug_socket),
        "exported_windows": exported_windows(layout.schedule_file),
        "problems": problems,
        **runtime_fields(agent, revision_json(status.active if status else None)),
    }


RUNTIME_KEYS = frozenset(
    ("busy", "progress", "last_check", "next_check", "decision", "offer", "last_result")
)


def runtime_fields(agent: AgentRuntime, active: str | None) -> dict[str, Any]:
    """The part of an agent's status the daemon holds in memory (no file is read): what it
    is doing, its last and next check, decision, offer (seen from ``active``) and result."""
    return {
        "busy": agent.busy,
        "progress": agent.progress,
        "last_check": agent.last_check.isoformat() if agent.last_check else None,
        "next_check": agent.next_check.isoformat() if agent.next_check else None,
        "decision": _decision(agent),
        "offer": offer_now(agent, active),
        "last_result": agent.last_result,
    }


def _decision(agent: AgentRuntime) -> DecisionAnswer | None:
    """The last decision, with the one next check: the poll loop's (``next_check``)."""
    if agent.decision is None:
        return None
    answer = decision_json(agent.decision)
    if agent.next_check is not None:
        answer["next_check"] = agent.next_check.isoformat()
    return answer


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def package_status(
    answer: dict[str, Any],
    host: HostConfig,
    agent: AgentRuntime,
    package: PackageAgentRunner,
    *,
    health: HealthOf | None = None,
) -> None:
    """Turn ``answer`` into a package agent's: its version, lock and repository, its spec
    (kept in Shepherd's own file: it has no update.yaml), its health, and the offer seen
    from its installed package."""
    answer.update(package.status())
    answer.update(proxy=None, group=None)
    source = answer.pop("spec_source")
    for name in ("enabled", "pinned"):
        answer["effective"][name] = {"value": answer[name], "from": source}
    answer["health"] = (health or health_now)(*agent_files(host))
    answer["backup_installed"] = answer["backup"] is not None  # in the repository
    answer["offer"] = offer_now(agent, package.installed_revision)


def offer_now(agent: AgentRuntime, active: str | None) -> OfferAnswer | None:
    """The last pass's offer, seen from the active revision now."""
    return offer_json(agent.offer.for_active(active)) if agent.offer else None


def exported_windows(schedule_file: Path) -> list[WindowAnswer] | None:
    """The maintenance windows the agent exported (v1); None when there is no such file,
    [] when it is empty (the agent lost its cluster) or unreadable."""
    try:
        text = schedule_file.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return []
    try:
        windows = ExportedSchedule.parse(text).windows
    except InvalidSchedule:
        return []
    return [{"start": w.start.isoformat(), "end": w.end.isoformat()} for w in windows]


def agent_health(host: HostConfig, namespace: str) -> dict[str, Any]:
    """One agent's health now (its process and ``/readyz``), without the rest of its status."""
    if namespace == PACKAGE_AGENT:
        return health_now(*agent_files(host))
    layout = host.layout(namespace)
    return health_now(layout.pid_file, layout.debug_socket)


def health_now(pid_file: Path, debug_socket: Path) -> dict[str, Any]:
    """Is the agent's process running, and does its ``/readyz`` answer for that PID?"""
    pid = read_pid(pid_file)
    ready: bool | None = None
    if pid is not None and debug_socket.exists():
        try:
            code, body = readyz(debug_socket, 1.0)
            ready = code == 200 and body is not None and body.get("pid") == pid
        except OSError:
            ready = False
    return {"running": pid is not None, "pid": pid, "ready": ready}
