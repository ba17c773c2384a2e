"""The service managers that run the agents (systemd, supervisord) and the agent's health check."""

from __future__ import annotations

from engine.service.base import (
    QUERY_TIMEOUT_SECONDS,
    RESTART_TIMEOUT_SECONDS,
    AgentUnit,
    Reload,
    ReloadOutcome,
    ServiceManager,
)
from engine.service.foreign import (
    DisabledTimer,
    ForeignUpdaters,
    foreign_timer_names,
    load_disabled,
    save_disabled,
)
from engine.service.health import (
    HealthCheck,
    HealthConfig,
    HealthResult,
    UnitStatus,
    read_pid,
)
from engine.service.own_unit import OwnUnit, read_only_here
from engine.service.restore import restart_and_check
from engine.service.supervisor import Supervisord
from engine.service.supervisor_programs import program_file, program_section
from engine.service.systemd import Systemd

__all__ = [
    "QUERY_TIMEOUT_SECONDS",
    "RESTART_TIMEOUT_SECONDS",
    "AgentUnit",
    "DisabledTimer",
    "ForeignUpdaters",
    "HealthCheck",
    "HealthConfig",
    "HealthResult",
    "OwnUnit",
    "Reload",
    "ReloadOutcome",
    "ServiceManager",
    "Supervisord",
    "Systemd",
    "UnitStatus",
    "foreign_timer_names",
    "load_disabled",
    "program_file",
    "program_section",
    "read_only_here",
    "read_pid",
    "restart_and_check",
    "save_disabled",
]
