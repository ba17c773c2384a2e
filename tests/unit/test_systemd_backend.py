"""The systemd backend's exact command lines, against a recording systemctl.

systemd cannot run here as PID 1, so this is the one boundary faked: a real executable that
records its argv and answers with scripted exit codes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import ServiceError
from engine.service.base import Reload
from engine.service.systemd import Systemd


def fake_systemctl(tmp_path: Path, answers: dict[str, int], stdout: str = "") -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    cases = "\n".join(f'  "{verb}") exit {code} ;;' for verb, code in answers.items())
    script = tmp_path / "systemctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {log}\n'
        f'[ "$1" = show ] && echo "{stdout}"\n'
        'case "$1" in\n'
        f"{cases}\n"
        "  *) exit 0 ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    return script, log


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_reload_of_an_active_unit(tmp_path: Path) -> None:
    script, log = fake_systemctl(tmp_path, {"is-active": 0, "reload": 0})
    outcome = Systemd(str(script)).reload("teleport")
    assert outcome.result is Reload.RELOADED
    assert calls(log) == ["is-active --quiet teleport.service", "reload teleport.service"]


def test_failed_reload_falls_back_to_try_restart_with_a_warning(tmp_path: Path) -> None:
    script, log = fake_systemctl(tmp_path, {"is-active": 0, "reload": 1, "try-restart": 0})
    outcome = Systemd(str(script)).reload("teleport_staging")
    assert outcome.result is Reload.RESTARTED
    assert "restarting it instead" in outcome.warning
    assert calls(log) == [
        "is-active --quiet teleport_staging.service",
        "reload teleport_staging.service",
        "try-restart teleport_staging.service",
    ]


def test_an_inactive_unit_is_not_started(tmp_path: Path) -> None:
    script, log = fake_systemctl(tmp_path, {"is-active": 3})
    assert Systemd(str(script)).reload("teleport").result is Reload.NOT_RUNNING
    assert calls(log) == ["is-active --quiet teleport.service"]


def test_reload_and_restart_both_failing_is_an_error_naming_the_unit(tmp_path: Path) -> None:
    script, _ = fake_systemctl(tmp_path, {"is-active": 0, "reload": 1, "try-restart": 1})
    with pytest.raises(ServiceError, match=r"try-restart teleport\.service"):
        Systemd(str(script)).reload("teleport")


def test_main_pid_daemon_reload_and_enabled(tmp_path: Path) -> None:
    script, log = fake_systemctl(tmp_path, {"is-enabled": 1}, stdout="4242")
    backend = Systemd(str(script), run_dir=tmp_path)
    assert backend.main_pid("teleport") == 4242
    backend.daemon_reload()
    assert not backend.is_enabled("teleport")
    assert backend.present()
    assert calls(log) == [
        "show -p MainPID --value teleport.service",
        "daemon-reload",
        "is-enabled --quiet teleport.service",
    ]
    assert not Systemd(str(script), run_dir=tmp_path / "no-systemd").present()
