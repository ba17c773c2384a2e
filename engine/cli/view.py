"""How the CLI shows things: status tables, decisions, history, a download progress bar."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from engine.errors import ShepherdError

if TYPE_CHECKING:
    from engine.api.client import ApiClient
    from engine.policy.decision import Decision

__all__ = [
    "ProgressPrinter",
    "print_json",
    "print_pass",
    "render_decision",
    "render_decision_json",
    "render_status",
    "table",
]


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(map(str, row)) for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def render_decision(decision: Decision) -> str:
    return render_decision_json(
        {
            "action": decision.action.value,
            "reason": decision.reason.value,
            "message": decision.message,
            "target": str(decision.target) if decision.target else None,
            "delay_seconds": decision.delay.total_seconds(),
            "next_check": decision.next_check.strftime("%Y-%m-%d %H:%M:%S UTC")
            if decision.next_check
            else None,
            "retry_at": decision.retry_at.strftime("%Y-%m-%d %H:%M:%S UTC")
            if decision.retry_at
            else None,
        }
    )


def render_decision_json(decision: dict[str, Any]) -> str:
    lines = [f"decision:   {decision['action']} ({decision['reason']})"]
    if decision.get("target"):
        lines.append(f"target:     {decision['target']}")
    if decision.get("delay_seconds"):
        lines.append(f"delay:      {decision['delay_seconds']:.0f} s (jitter)")
    if decision.get("next_check"):
        lines.append(f"next check: {_when(decision['next_check'])}")
    if decision.get("retry_at"):
        lines.append(f"retry at:   {_when(decision['retry_at'])} (a version that failed here)")
    lines.append(f"why:        {decision['message']}")
    return "\n".join(lines)


def _health(health: dict[str, Any]) -> str:
    if not health.get("running"):
        return "stopped"
    ready = health.get("ready")
    state = "ready" if ready else "running" if ready is None else "not ready"
    return f"{state} (pid {health.get('pid')})"


def _updates_state(enabled: object, pinned: object) -> str:
    if enabled is None:  # update.yaml missing or invalid: see the agent's problems
        return "unknown"
    if not enabled:
        return "disabled"
    return "pinned" if pinned else "enabled"


def _backup(agent: dict[str, Any]) -> str:
    backup = agent.get("backup")
    if not backup:
        return "-"
    return backup if agent.get("backup_installed", True) else f"{backup} (removed)"


def _when(iso: str | None) -> str:
    """``2026-11-25T14:22:19.77+00:00`` -> ``2026-11-25 14:22 UTC``."""
    return f"{iso[:16].replace('T', ' ')} UTC" if iso else "-"


def _last_update(last: dict[str, Any] | None) -> str:
    if not last:
        return "-"
    when = (last.get("time") or "")[:16].replace("T", " ")
    return f"{'ok' if last.get('success') else 'FAILED'} {last.get('target') or ''} {when}".strip()


def render_found(found: list[dict[str, Any]]) -> list[str]:
    """One line per agent found on the host and not managed (``GET /v1/agents``' found)."""
    lines = []
    for agent in found:
        timers = agent.get("foreign_updaters") or []
        why = f" ({', '.join(timers)} is on)" if timers else ""
        name = agent["agent"]
        lines.append(f"{name}: found, not managed{why}; 'shepherd agents add {name}' adopts it")
    return lines


def _package_note(agent: dict[str, Any]) -> str:
    repository = agent.get("repository")
    source = (
        f"from {repository['url']} (signed by {repository['key_file']})"
        if repository
        else "no package repository configured"
    )
    locked = {True: "held", False: "NOT held", None: "hold unknown"}[agent.get("locked")]
    return (
        f"{agent['agent']}: package {agent.get('package')} {agent.get('version')} "
        f"({agent.get('manager')}), {locked}, {source}."
    )


def _skip_note(agent: dict[str, Any]) -> str:
    """The skipped version: why it failed here, and when (if ever) it is tried again."""
    name, skip = agent["agent"], str(agent["skip"])
    version = skip.split("_", maxsplit=1)[0]
    failed = (agent.get("failed") or {}).get(version)
    if not failed:
        return f"{name}: {skip} failed here and is skipped."
    tries = f"{failed['tries']} {'try' if failed['tries'] == 1 else 'tries'}"
    when = (
        f"it is tried again from {_when(failed['retry_at'])}"
        if failed.get("retry_at")
        else f"it is not tried again by itself ('shepherd clear-bad {name} {version}')"
    )
    last = _when(failed["time"])
    return f"{name}: {skip} failed here ({failed['why']}, {tries}, last {last}); {when}."


def render_status(agents: list[dict[str, Any]]) -> str:
    if not agents:
        return (
            "No managed agents. Adopt one set up by teleport-update with "
            "'shepherd agents add NAME'."
        )
    rows = []
    for agent in agents:
        decision = agent.get("decision") or {}
        state = _updates_state(agent.get("enabled"), agent.get("pinned"))
        rows.append(
            [
                agent["agent"],
                state,
                agent.get("active") or "-",
                _backup(agent),
                (agent.get("offer") or {}).get("target") or decision.get("target") or "-",
                _health(agent.get("health") or {}),
                _last_update(agent.get("last_update")),
            ]
        )
    text = table(["agent", "updates", "active", "backup", "target", "health", "last update"], rows)
    notes = []
    for agent in agents:
        name = agent["agent"]
        decision = agent.get("decision")
        result = agent.get("last_result")
        busy = f" [{agent['busy']}]" if agent.get("busy") else ""
        next_check = (
            f" Next check: {_when(agent['next_check'])}." if agent.get("next_check") else ""
        )
        if decision and decision.get("action") == "update" and result:
            notes.append(f"{name}{busy}: {result['message']}.{next_check}")
        elif decision:
            notes.append(f"{name}{busy}: {decision['message']}{next_check}")
        else:
            notes.append(f"{name}{busy}: not checked yet.{next_check}")
        if agent.get("backup") and agent.get("rollback_refused"):
            notes.append(f"{name}: no rollback: {agent['rollback_refused']}.")
        if len(agent.get("versions_installed") or []) > 2:
            notes.append(f"{name}: installed versions: {', '.join(agent['versions_installed'])}.")
        if agent.get("kind") == "package":
            notes.append(_package_note(agent))
        if agent.get("skip"):
            notes.append(_skip_note(agent))
        for name, bad in (agent.get("bad") or {}).items():
            notes.append(
                f"{agent['agent']}: {name} is remembered as bad ({bad.get('reason')}); "
                f"clear with 'shepherd clear-bad {agent['agent']} {name.split('_')[0]}'."
            )
        for problem in agent.get("problems") or []:
            notes.append(f"{agent['agent']}: problem: {problem}")
    return text + "\n\n" + "\n".join(notes)


class ProgressPrinter:
    """Follows the daemon's event stream in a thread and draws download progress."""

    def __init__(self, api: ApiClient, agent: str, stream: TextIO | None = None) -> None:
        self.api = api
        self.agent = agent
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self._last_quarter = -1
        self._drawn = False
        self._thread = threading.Thread(target=self._follow, daemon=True)

    def start(self) -> ProgressPrinter:
        self._thread.start()
        return self

    def finish(self) -> None:
        if self._drawn and self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def _follow(self) -> None:
        try:
            for event in self.api.events():
                if event.get("agent") != self.agent:
                    continue
                if event.get("type") == "progress":
                    self.draw(event)
                elif event.get("type") == "step":
                    self.say(str(event.get("step")))
        except ShepherdError:
            return

    def say(self, step: str) -> None:
        """One line per step of a long operation (install)."""
        if self._drawn and self.tty:
            self.stream.write("\n")
        self._drawn = False
        self.stream.write(f"{step} ...\n")
        self.stream.flush()

    def draw(self, event: dict[str, Any]) -> None:
        done = int(event.get("bytes_done") or 0)
        total = event.get("bytes_total")
        rate = float(event.get("rate_bps") or 0)
        eta = event.get("eta_seconds")
        mb = done / 1e6
        if total:
            fraction = min(1.0, done / total)
            if self.tty:
                bar = "#" * int(fraction * 30)
                eta_text = f" ETA {eta:.0f} s" if eta is not None else ""
                self.stream.write(
                    f"\rdownloading [{bar:<30}] {fraction:4.0%} {mb:7.1f} MB "
                    f"{rate / 1e6:6.1f} MB/s{eta_text}   "
                )
            else:
                quarter = int(fraction * 4)
                if quarter == self._last_quarter:
                    return
                self._last_quarter = quarter
                self.stream.write(f"downloading: {fraction:.0%} of {total / 1e6:.1f} MB\n")
        else:
            self.stream.write(f"\rdownloading: {mb:.1f} MB" + ("" if self.tty else "\n"))
        self._drawn = True
        self.stream.flush()


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2))


def print_pass(result: Mapping[str, Any]) -> None:
    print(f"[{result['agent']}]")
    if result.get("repaired"):
        print(f"repaired:   {result['repaired']['message']}")
    print(render_decision_json(result["decision"]))
    outcome = result.get("outcome")
    if outcome is not None:
        verdict = (
            "ok"
            if outcome["ok"]
            else outcome["reason"]
            if outcome["reason"] == "cancelled"
            else "FAILED"
        )
        print(f"result:     {verdict}: {outcome['message']}")
    elif result.get("dry_run"):
        print("result:     dry run, nothing changed")
