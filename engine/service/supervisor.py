"""supervisord: for hosts without systemd, and the sandbox.

The "unit" is the supervisord program name. Reload sends SIGHUP to the program (the agent
re-execs); try-restart restarts it only when it is running. It is spoken to over its
XML-RPC socket (``supervisor_rpc``) when its config names one without a password, else
through ``supervisorctl``.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import ServiceError
from engine.fsutil import atomic_write
from engine.service.base import (
    QUERY_TIMEOUT_SECONDS,
    RESTART_TIMEOUT_SECONDS,
    AgentUnit,
    Reload,
    ReloadOutcome,
)
from engine.service.supervisor_programs import program_file, program_section
from engine.service.supervisor_rpc import (
    FAULT_ALREADY_STARTED,
    FAULT_BAD_NAME,
    FAULT_NOT_RUNNING,
    SupervisorFault,
    SupervisorRpc,
)

__all__ = ["Supervisord"]

_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
_ACTIVE = {"RUNNING", "STARTING"}


class _NotRunning(Exception):
    pass


class Supervisord:
    name = "supervisord"

    def __init__(
        self,
        config: Path,
        supervisorctl: str | None = None,
        *,
        timeout_seconds: float = QUERY_TIMEOUT_SECONDS,
        restart_timeout_seconds: float = RESTART_TIMEOUT_SECONDS,
    ) -> None:
        self._config = config
        self._timeout = timeout_seconds
        self._restart_timeout = restart_timeout_seconds
        self._ctl = (
            supervisorctl or shutil.which("supervisorctl", path=_ENV["PATH"]) or ("supervisorctl")
        )
        self._rpc = None if supervisorctl else SupervisorRpc.from_config(config)

    def _call(self, op: str, method: str, *args: Any, timeout: float | None = None) -> Any:
        """One XML-RPC call; ``op`` names it as the supervisorctl command it stands for.
        Raises SupervisorFault, or ServiceError when supervisord does not answer."""
        assert self._rpc is not None  # noqa: S101 - only called when there is one
        seconds = timeout or self._timeout
        try:
            return self._rpc.call(method, *args, timeout=seconds)
        except TimeoutError as e:
            raise ServiceError(
                f"supervisord did not answer 'supervisorctl {op}' within {seconds:g} s: "
                "is it stopped or hung?"
            ) from e
        except OSError as e:
            raise ServiceError(f"supervisord could not be reached for '{op}': {e}") from e

    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        seconds = timeout or self._timeout
        try:
            return subprocess.run(
                [self._ctl, "-c", str(self._config), *args],
                capture_output=True,
                text=True,
                check=False,
                env=_ENV,
                timeout=seconds,
            )
        except subprocess.TimeoutExpired as e:
            raise ServiceError(
                f"supervisord did not answer 'supervisorctl {' '.join(args)}' within "
                f"{seconds:g} s: is it stopped or hung?"
            ) from e
        except OSError as e:
            raise ServiceError(f"supervisorctl {' '.join(args)} could not run: {e}") from e

    def _state(self, unit: str) -> tuple[str, int | None]:
        if self._rpc is not None:
            try:
                info = self._call(f"status {unit}", "supervisor.getProcessInfo", unit)
            except SupervisorFault as e:
                if e.code == FAULT_BAD_NAME:
                    return "UNKNOWN", None
                raise ServiceError(f"supervisorctl status {unit} failed: {e.text}") from e
            return str(info["statename"]), int(info["pid"]) or None
        fields = self._run("status", unit).stdout.split()
        if len(fields) < 2 or fields[0] != unit:
            return "UNKNOWN", None
        pid = None
        if "pid" in fields:
            text = fields[fields.index("pid") + 1].rstrip(",")
            pid = int(text) if text.isdigit() else None
        return fields[1], pid

    def present(self) -> bool:
        if not self._config.is_file():
            return False
        if self._rpc is not None:
            try:
                self._call("pid", "supervisor.getPID")
            except (ServiceError, SupervisorFault):
                return False
            return True
        return self._run("pid").returncode == 0

    def is_active(self, unit: str) -> bool:
        return self._state(unit)[0] in _ACTIVE

    def is_enabled(self, unit: str) -> bool:
        return self._state(unit)[0] != "UNKNOWN"

    def main_pid(self, unit: str) -> int | None:
        state, pid = self._state(unit)
        return pid if state == "RUNNING" else None

    def restarts(self, unit: str) -> int | None:
        return None  # supervisorctl does not report how often it restarted a program

    def reload(self, unit: str) -> ReloadOutcome:
        if not self.is_active(unit):
            return ReloadOutcome(Reload.NOT_RUNNING)
        if self._rpc is not None:
            try:
                self._call(f"signal HUP {unit}", "supervisor.signalProcess", unit, "HUP")
                return ReloadOutcome(Reload.RELOADED)
            except SupervisorFault as e:
                failure = e.text
        else:
            result = self._run("signal", "HUP", unit)
            if result.returncode == 0 and "ERROR" not in result.stdout:
                return ReloadOutcome(Reload.RELOADED)
            failure = (result.stdout + result.stderr).strip()
        warning = f"supervisorctl signal HUP {unit} failed ({failure}); restarting it instead"
        self.try_restart(unit)
        return ReloadOutcome(Reload.RESTARTED, warning)

    def try_restart(self, unit: str) -> None:
        if not self.is_active(unit):
            return
        if self._rpc is not None:
            self._rpc_restart(unit)
            return
        result = self._run("restart", unit, timeout=self._restart_timeout)
        if result.returncode != 0 or "ERROR" in result.stdout:
            raise ServiceError(
                f"supervisorctl restart {unit} failed: {(result.stdout + result.stderr).strip()}"
            )

    def restart(self, unit: str) -> None:
        if self.is_active(unit):
            self.try_restart(unit)
        else:
            self.start(unit)

    def daemon_reload(self) -> None:
        return  # supervisord programs do not read the systemd unit file

    def start(self, unit: str) -> None:
        if self._rpc is not None:
            try:
                self._call(
                    f"start {unit}", "supervisor.startProcess", unit, True,
                    timeout=self._restart_timeout,
                )  # fmt: skip
            except SupervisorFault as e:
                if e.code != FAULT_ALREADY_STARTED:
                    raise ServiceError(f"supervisorctl start {unit} failed: {e.text}") from e
            return
        result = self._run("start", unit, timeout=self._restart_timeout)
        if result.returncode != 0 and "already started" not in result.stdout:
            # supervisord's own autorestart may have started it between our look and ours
            raise ServiceError(f"supervisorctl start {unit} failed: {result.stdout.strip()}")

    def _stop(self, unit: str, seconds: float) -> None:
        try:
            self._call(f"restart {unit}", "supervisor.stopProcess", unit, True, timeout=seconds)
        except SupervisorFault as e:
            if e.code == FAULT_NOT_RUNNING:  # it stopped since we looked
                raise _NotRunning from e
            raise

    def _rpc_restart(self, unit: str) -> None:
        """What ``supervisorctl restart`` does: stop (if running), then start; both wait."""
        seconds = self._restart_timeout
        try:
            if self.is_active(unit):
                with contextlib.suppress(_NotRunning):
                    self._stop(unit, seconds)
            self._call(f"restart {unit}", "supervisor.startProcess", unit, True, timeout=seconds)
        except SupervisorFault as e:
            raise ServiceError(f"supervisorctl restart {unit} failed: {e.text}") from e

    # ---- an agent's program: set up by ``shepherd install``, removed by ``uninstall`` ----
    def _manage(self, *args: str, ok: tuple[str, ...] = ()) -> None:
        """``supervisorctl ARGS``; its output naming an error fails unless it contains one
        of ``ok`` (supervisorctl 4 exits 0 on some refusals, so the text is what counts)."""
        result = self._run(*args, timeout=self._restart_timeout)
        text = (result.stdout + result.stderr).strip()
        failed = result.returncode != 0 or "ERROR" in text
        if failed and not any(words in text for words in ok):
            raise ServiceError(f"supervisorctl {' '.join(args)} failed: {text or 'no output'}")

    def stop(self, unit: str) -> None:
        if self._rpc is None:
            self._manage("stop", unit, ok=("not running", "no such process", "no such group"))
            return
        try:
            self._call(
                f"stop {unit}", "supervisor.stopProcess", unit, True, timeout=self._restart_timeout
            )
        except SupervisorFault as e:
            if e.code not in (FAULT_NOT_RUNNING, FAULT_BAD_NAME):
                raise ServiceError(f"supervisorctl stop {unit} failed: {e.text}") from e

    def enable(self, unit: str) -> None:
        self._manage("add", unit, ok=("already active",))

    def disable(self, unit: str) -> None:
        self.stop(unit)
        self._manage("remove", unit, ok=("no such process", "no such group"))

    def write_unit(self, unit: AgentUnit) -> Callable[[], None]:
        path = program_file(self._config, unit.name)
        try:
            previous: bytes | None = path.read_bytes()
        except FileNotFoundError:
            previous = None
        except OSError as e:
            raise ServiceError(f"cannot read the supervisord program {path}: {e}") from e

        def put_back() -> None:
            if previous is None:
                self.remove_unit(unit)
                return
            self._write_program(path, previous)
            self._manage("reread")
            if self.is_enabled(unit.name):  # loaded with the new section: load the old one
                self._manage("update", unit.name)

        self._write_program(path, program_section(unit).encode())
        try:
            self._manage("reread")
        except ServiceError:
            with contextlib.suppress(ServiceError):
                put_back()
            raise
        return put_back

    @staticmethod
    def _write_program(path: Path, text: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, text, mode=0o644)
        except OSError as e:
            raise ServiceError(f"cannot write the supervisord program {path}: {e}") from e

    def remove_unit(self, unit: AgentUnit) -> None:
        self.disable(unit.name)
        path = program_file(self._config, unit.name)
        try:
            path.unlink(missing_ok=True)
        except OSError as e:
            raise ServiceError(f"cannot remove the supervisord program {path}: {e}") from e
        self._manage("reread")
