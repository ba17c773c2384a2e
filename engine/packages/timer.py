"""Taking over from Teleport's v1 upgrader, ``teleport-upgrade.timer``, for a package agent.

    notes = take_over_upgrade_timer(runner, state_dir)   # adopt: disable (and stop) it
    notes = restore_upgrade_timer(runner, state_dir)     # hand-back: enable it again if it was

Two updaters must not race for one package: on adopt the timer is disabled — and stopped
when systemd runs — and whether it was enabled is recorded in ``state_dir``; hand-back
re-enables it only when Shepherd was the one that disabled it. Idempotent both ways.
"""

from __future__ import annotations

import json
from pathlib import Path

from engine.errors import StateError
from engine.fsutil import atomic_write
from engine.packages.base import Runner

__all__ = ["UPGRADE_TIMER", "restore_upgrade_timer", "take_over_upgrade_timer"]

UPGRADE_TIMER = "teleport-upgrade.timer"
_RECORD = "upgrade-timer.json"


def _booted(runner: Runner) -> bool:
    return runner.host_path("run/systemd/system").is_dir()


def _systemctl(runner: Runner, *args: str) -> tuple[bool, str]:
    if runner.host_path("bin/systemctl").exists() or runner.host_path("usr/bin/systemctl").exists():
        # systemctl asks PID 1, which changes the unit files: nothing is written from here
        result = runner.run(["systemctl", *args], check=False, timeout=60, writes=False)
        return result.ok, result.stdout.strip()
    return False, "no systemctl"


def _is_enabled(runner: Runner) -> bool:
    ok, state = _systemctl(runner, "is-enabled", UPGRADE_TIMER)
    return ok and state in ("enabled", "enabled-runtime")


def take_over_upgrade_timer(runner: Runner, state_dir: Path) -> list[str]:
    """Disable ``teleport-upgrade.timer`` when it is enabled, recording that it was.

    Raises:
        PackageError: systemctl could not run or did not finish in time.
        StateError: systemctl refused to disable it (it would keep racing Shepherd).
    """
    record = state_dir / _RECORD
    if not _is_enabled(runner):
        return []
    state_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(record, json.dumps({"unit": UPGRADE_TIMER, "was_enabled": True}).encode())
    args = ["disable", "--now"] if _booted(runner) else ["disable"]
    ok, output = _systemctl(runner, *args, UPGRADE_TIMER)
    if not ok or _is_enabled(runner):
        raise StateError(f"could not disable {UPGRADE_TIMER}: {output or 'still enabled'}")
    return [f"{UPGRADE_TIMER} (Teleport's v1 upgrader) is disabled while Shepherd manages it"]


def restore_upgrade_timer(runner: Runner, state_dir: Path) -> list[str]:
    """Enable ``teleport-upgrade.timer`` again if ``take_over_upgrade_timer`` disabled it."""
    record = state_dir / _RECORD
    try:
        data = json.loads(record.read_text())
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise StateError(f"cannot read {record}: {e}") from e
    if not isinstance(data, dict) or not data.get("was_enabled"):
        record.unlink()
        return []
    args = ["enable", "--now"] if _booted(runner) else ["enable"]
    ok, output = _systemctl(runner, *args, UPGRADE_TIMER)
    if not ok:
        raise StateError(f"could not re-enable {UPGRADE_TIMER}: {output or 'systemctl failed'}")
    record.unlink()
    return [f"{UPGRADE_TIMER} is enabled again"]
