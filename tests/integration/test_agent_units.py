"""An agent's program under a real supervisord: written, enabled, started, stopped, disabled
and removed through the service layer (what ``shepherd install`` / ``uninstall`` use)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import ServiceError
from engine.service.base import AgentUnit
from engine.service.supervisor import Supervisord
from engine.service.supervisor_programs import program_file
from sandbox.ports import wait_until
from sandbox.supervisor import Supervisor

pytestmark = pytest.mark.integration


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    with Supervisor(tmp_path / "supervisor") as running:
        yield running


def _unit(tmp_path: Path, name: str = "teleport_enrolled") -> AgentUnit:
    script = tmp_path / "agent 100%.py"  # a space and a % survive quoting
    script.write_text("import time\nwhile True:\n    time.sleep(1)\n")
    return AgentUnit(name, [sys.executable, str(script)], tmp_path / f"{name}.service")


def test_a_program_is_written_started_stopped_and_removed(
    supervisor: Supervisor, tmp_path: Path
) -> None:
    service = Supervisord(supervisor.config_path)
    unit = _unit(tmp_path)
    path = program_file(supervisor.config_path, unit.name)
    assert path == supervisor.workdir / "programs" / "teleport_enrolled.conf"
    assert not service.is_enabled(unit.name)

    service.write_unit(unit)
    service.write_unit(unit)  # idempotent
    assert path.is_file() and not service.is_enabled(unit.name)
    service.enable(unit.name)
    service.enable(unit.name)
    service.start(unit.name)
    assert service.is_enabled(unit.name)
    wait_until(lambda: service.main_pid(unit.name) is not None, 20, "the program to run")
    assert supervisor.state(unit.name) == "RUNNING"

    service.stop(unit.name)
    service.stop(unit.name)  # idempotent
    assert not service.is_active(unit.name) and service.is_enabled(unit.name)
    service.start(unit.name)
    wait_until(lambda: service.is_active(unit.name), 20, "the program to run again")

    service.remove_unit(unit)  # stops and unloads it
    service.remove_unit(unit)
    assert not path.exists()
    assert not service.is_enabled(unit.name) and not service.is_active(unit.name)
    service.stop(unit.name)
    service.disable(unit.name)  # an unknown program is fine


def test_without_an_include_dir_the_error_names_the_config(tmp_path: Path) -> None:
    config = tmp_path / "supervisord.conf"
    config.write_text("[supervisord]\nnodaemon=true\n")
    with pytest.raises(ServiceError, match=r"no '\[include\] files = DIR/\*\.conf'") as caught:
        Supervisord(config).write_unit(_unit(tmp_path))
    assert str(config) in str(caught.value)


def test_starting_an_unknown_program_names_it(supervisor: Supervisor) -> None:
    with pytest.raises(ServiceError, match="no_such_agent"):
        Supervisord(supervisor.config_path).start("no_such_agent")
