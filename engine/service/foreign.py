"""Teleport's own updaters living on the same host: ``teleport-update``'s timer per
namespace and the v1 ``teleport-upgrade`` timer (which serves the default agent only).

    updaters = ForeignUpdaters.for_host(service="systemd")
    updaters.active("staging")            # ["teleport-update_staging.timer"] when enabled
    record = updaters.disable("staging")  # on adopt; saved in Shepherd's agent state
    updaters.restore(record)              # on hand back: exactly what adopt disabled

Unit names as ``teleport-update enable`` writes them (Teleport's
``lib/autoupdate/agent/setup.go``): ``teleport-update.timer`` for the default namespace,
``teleport-update_<ns>.timer`` for another. A host without systemd has none of them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ServiceError, StateError
from engine.fsutil import atomic_write

__all__ = [
    "DisabledTimer",
    "ForeignUpdaters",
    "foreign_timer_names",
    "load_disabled",
    "save_disabled",
]

_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
_RECORD = "foreign-updaters.json"


def foreign_timer_names(namespace: str) -> tuple[str, ...]:
    """The timers of Teleport's own updaters that would update ``namespace``."""
    if namespace == "default":
        return ("teleport-update.timer", "teleport-upgrade.timer")
    return (f"teleport-update_{namespace}.timer",)


@dataclass(frozen=True)
class DisabledTimer:
    """A foreign timer Shepherd turned off, and how it was before."""

    unit: str
    was_enabled: bool
    was_active: bool

    def as_json(self) -> dict[str, object]:
        return {"unit": self.unit, "was_enabled": self.was_enabled, "was_active": self.was_active}


class ForeignUpdaters:
    """Asks systemd about the foreign timers; ``systemctl=None`` means no systemd here."""

    def __init__(self, systemctl: str | None) -> None:
        self._systemctl = systemctl

    @classmethod
    def for_host(
        cls, *, service: str, run_dir: Path = Path("/run/systemd/system")
    ) -> ForeignUpdaters:
        if service != "systemd" or not run_dir.is_dir():
            return cls(None)
        return cls(shutil.which("systemctl", path=_ENV["PATH"]) or "systemctl")

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(
                [self._systemctl or "systemctl", *args],
                capture_output=True,
                text=True,
                check=False,
                env=_ENV,
                timeout=60,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ServiceError(f"systemctl {' '.join(args)} could not run: {e}") from e

    def _state(self, unit: str) -> tuple[bool, bool]:
        enabled = self._run("is-enabled", "--quiet", unit).returncode == 0
        active = self._run("is-active", "--quiet", unit).returncode == 0
        return enabled, active

    def active(self, namespace: str) -> list[str]:
        """The foreign timers that are enabled or running for ``namespace``."""
        if self._systemctl is None:
            return []
        return [unit for unit in foreign_timer_names(namespace) if any(self._state(unit))]

    def disable(self, namespace: str) -> list[DisabledTimer]:
        """Turn off (``disable --now``) every foreign timer of ``namespace``; what was on."""
        if self._systemctl is None:
            return []
        disabled = []
        for unit in foreign_timer_names(namespace):
            enabled, active = self._state(unit)
            if not (enabled or active):
                continue
            result = self._run("disable", "--now", unit)
            if result.returncode != 0:
                raise ServiceError(
                    f"systemctl disable --now {unit} failed: "
                    f"{result.stderr.strip() or f'exit {result.returncode}'}"
                )
            disabled.append(DisabledTimer(unit, enabled, active))
        return disabled

    def restore(self, timers: Sequence[DisabledTimer]) -> None:
        """Turn back on exactly what :meth:`disable` turned off."""
        if self._systemctl is None:
            return
        for timer in timers:
            if timer.was_enabled:
                self._check(timer.unit, "enable", *(["--now"] if timer.was_active else []))
            elif timer.was_active:
                self._check(timer.unit, "start")

    def _check(self, unit: str, *args: str) -> None:
        result = self._run(*args, unit)
        if result.returncode != 0:
            raise ServiceError(
                f"systemctl {' '.join(args)} {unit} failed: "
                f"{result.stderr.strip() or f'exit {result.returncode}'}"
            )


def save_disabled(state_dir: Path, timers: Sequence[DisabledTimer]) -> None:
    """Record in Shepherd's agent state what adopting disabled (nothing: no record)."""
    path = state_dir / _RECORD
    if not timers:
        path.unlink(missing_ok=True)
        return
    state_dir.mkdir(parents=True, exist_ok=True)
    data = {"disabled": [t.as_json() for t in timers]}
    atomic_write(path, json.dumps(data, indent=2).encode(), mode=0o644)


def load_disabled(state_dir: Path) -> list[DisabledTimer]:
    path = state_dir / _RECORD
    try:
        data = json.loads(path.read_text())
        return [
            DisabledTimer(str(t["unit"]), bool(t["was_enabled"]), bool(t["was_active"]))
            for t in data["disabled"]
        ]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise StateError(f"cannot read the foreign updaters Shepherd disabled, {path}: {e}") from e
