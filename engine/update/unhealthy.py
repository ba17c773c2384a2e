"""An agent found down or unhealthy at several checks in a row (issue 18, item 2).

Every pass (not a dry run) looks at the v2 agent: is its process running, and does its
``/readyz`` answer for that PID? The agent record counts the checks in a row that found it
down or not ready. When the count reaches ``policy.unhealthy_checks`` the pass says so
(history, and the daemon notifies) — always. With ``policy.recover_unhealthy`` on, it also
acts, the seed of teleport-update's own idea ("if the updater detects the agent is
unhealthy, it immediately applies any pending update to try to recover"): the cluster's
pending update is applied now (no window, no jitter), or, when there is none, the active
version is reinstalled (its files checked against the CDN's checksum and replaced if they
differ, relinked, the agent restarted and health-checked). The count then starts again.
"""

from __future__ import annotations

from dataclasses import replace

from engine.errors import ArtifactError, ServiceError, SourceError
from engine.install.download import artifact_url, download_verified, fetch_checksum
from engine.install.revisions import install_revision, installed_checksum
from engine.service.health import read_pid, readyz
from engine.store.agent_record import load_agent_record, save_agent_record
from engine.store.layout import Layout
from engine.store.lock import NamespaceLock
from engine.update.outcome import Outcome, UpdateContext
from engine.update.recovery import recover_locked
from engine.update.steps import AgentSteps
from engine.versions import Revision

__all__ = ["count_unhealthy", "health_problem", "reinstall_active", "reset_count"]


def health_problem(layout: Layout) -> str | None:
    """What is wrong with the agent now (None: running, and ready where it can say)."""
    pid = read_pid(layout.pid_file)
    if pid is None:
        return "it is not running"
    if not layout.debug_socket.exists():
        return None  # an older agent without a debug socket: running is all it can say
    try:
        code, body = readyz(layout.debug_socket, 2.0)
    except OSError as e:
        return f"its /readyz does not answer ({e})"
    if code != 200 or body is None or body.get("pid") != pid:
        return f"its /readyz answers {code} for PID {pid}: not ready"
    return None


def count_unhealthy(ctx: UpdateContext, problem: str | None) -> int:
    """Add this check to the count of checks in a row that found a problem (0: healthy)."""
    layout = ctx.layout
    stored = load_agent_record(layout.state_dir)
    count = stored.unhealthy_checks + 1 if problem is not None else 0
    if count != stored.unhealthy_checks:
        lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
        with lock.acquire(timeout=ctx.lock_timeout, who=f"{ctx.who} (health count)"):
            fresh = load_agent_record(layout.state_dir)
            save_agent_record(layout.state_dir, replace(fresh, unhealthy_checks=count))
    return count


def reset_count(ctx: UpdateContext) -> None:
    """Start counting again (after a recovery was tried)."""
    layout = ctx.layout
    lock = NamespaceLock(layout.lock_file, layout.state_dir / "lock-holder")
    with lock.acquire(timeout=ctx.lock_timeout, who=f"{ctx.who} (health count)"):
        fresh = load_agent_record(layout.state_dir)
        save_agent_record(layout.state_dir, replace(fresh, unhealthy_checks=0))


def reinstall_active(ctx: UpdateContext, why: str) -> Outcome:
    """Reinstall the active version of an unhealthy agent, restart it and health-check it.

    Its files are replaced only when their checksum marker does not match the CDN's (the
    agent is down: its binaries are not in use). Never raises for an expected failure: the
    outcome says what happened, and the history records it.
    """
    started = ctx.clock.monotonic()
    steps = AgentSteps(ctx)
    lock = NamespaceLock(ctx.layout.lock_file, ctx.layout.state_dir / "lock-holder")
    with lock.acquire(timeout=ctx.lock_timeout, who=f"{ctx.who} (recovery)"):
        recover_locked(steps)
        active = steps.config().status.active
        if active is None:
            return _recorded(steps, False, "nothing-active", f"{why}; nothing is active", None)
        try:
            replaced = _reinstall_files(ctx, active)
            steps.switch_to(active)
            before = read_pid(ctx.layout.pid_file)
            ctx.service.restart(ctx.layout.unit_name)
        except (ArtifactError, SourceError, ServiceError, OSError) as e:
            message = f"{why}; reinstalling {active} failed: {e}"
            return _recorded(steps, False, "reinstall-failed", message, active, started)
        health = ctx.health.check(
            ctx.layout.pid_file,
            ctx.layout.debug_socket,
            before,
            service=ctx.service,
            unit=ctx.layout.unit_name,
        )
        files = "its files replaced" if replaced else "its files checked"
        if not health.ok:
            message = f"{why}; {active} reinstalled ({files}) but {health.message}"
            return _recorded(steps, False, health.reason, message, active, started)
        message = f"{why}; {active} reinstalled ({files}) and restarted: {health.message}"
        return _recorded(steps, True, "reinstalled", message, active, started)


def _reinstall_files(ctx: UpdateContext, active: Revision) -> bool:
    layout = ctx.layout
    url = artifact_url(active, base_url=ctx.base_url, arch=ctx.arch)
    digest = fetch_checksum(ctx.client, url, headers=dict(ctx.download_headers))
    if installed_checksum(layout.versions_dir, active) == digest:
        return False
    archive = download_verified(
        ctx.client,
        url,
        layout.state_dir / "downloads",
        digest,
        headers=dict(ctx.download_headers),
        limits=ctx.download_limits,
    )
    try:
        install_revision(archive, digest, layout.versions_dir, active)
    finally:
        archive.unlink(missing_ok=True)
    return True


def _recorded(
    steps: AgentSteps,
    ok: bool,
    code: str,
    message: str,
    active: Revision | None,
    started: float | None = None,
) -> Outcome:
    seconds = steps.ctx.clock.monotonic() - started if started is not None else 0.0
    outcome = "succeeded" if ok else "failed"
    steps.record("recover", outcome, code, message, active, active, None, seconds)
    return Outcome(ok, code, message, active, active, None, seconds)
