"""Scenario files: try the update policy without a cluster.

A scenario (YAML or JSON) describes one moment in an agent's life; ``load_scenario`` turns it
into ``DecisionInputs`` plus a jitter seed. Every key is checked and errors name the key and
the bad value. Example::

    now: 2026-11-24T10:30:00Z
    forced: false
    seed: 1
    settings:                       # omit, or null: no update configuration at all
      enabled: true
      pinned: false
      path: /usr/local/bin
      group: staging
      base_url: https://mirror.example.com
      local_windows: [{days: [sat], start: "02:00", duration: 3h, timezone: Europe/Berlin}]
      blackouts: []
      critical_bypasses_local_window: true
    state:
      active: 17.1.0_ent            # a version dir name, or {version: 17.1.0, flags: [Enterprise]}
      backup: 17.0.5_ent
      skip: null
      bad: []
      unhealthy_marked: false
    cluster:                        # exactly one of find / channel (+find) / error
      find: {server_version: 17.2.1, edition: ent, fips: false,
             auto_update: {agent_version: 17.2.1, agent_auto_update: true,
                           agent_update_jitter_seconds: 60}}
      channel: {version: v17.2.1, critical: "no"}
      error: connection refused
    health:
      schedule: null                # the exported v1 schedule file's text; null: file missing
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InvalidInput, InvalidScenario, ShepherdError
from engine.policy.answers import ChannelAnswer, FindAnswer
from engine.policy.inputs import AgentHealth, AgentState, ClusterView, DecisionInputs, LocalSettings
from engine.policy.schedule import ExportedSchedule, LocalWindow
from engine.sources.channel import parse_critical, parse_version_text
from engine.sources.find import parse_find_answer
from engine.versions import Revision, Version

__all__ = ["Scenario", "load_scenario", "parse_scenario"]

_MAX_SCENARIO_BYTES = 1 << 20
_TOP_KEYS = {"now", "forced", "seed", "settings", "state", "cluster", "health"}
_SETTINGS_KEYS = {
    "enabled",
    "pinned",
    "path",
    "group",
    "base_url",
    "local_windows",
    "blackouts",
    "critical_bypasses_local_window",
}
_STATE_KEYS = {"active", "backup", "skip", "bad", "unhealthy_marked"}
_CLUSTER_KEYS = {"find", "channel", "error"}
_HEALTH_KEYS = {"schedule"}


@dataclass(frozen=True)
class Scenario:
    inputs: DecisionInputs
    seed: int


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        InvalidScenario: unreadable file, bad syntax, unknown key or bad value (named).
    """
    try:
        with path.open("rb") as stream:
            raw = stream.read(_MAX_SCENARIO_BYTES + 1)
    except OSError as e:
        raise InvalidScenario(f"cannot read scenario file {str(path)!r}: {e.strerror}") from e
    if len(raw) > _MAX_SCENARIO_BYTES:
        raise InvalidScenario(f"scenario file {str(path)!r} is larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidScenario(f"scenario file {str(path)!r} is not UTF-8 text") from e
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, *, source: str = "<scenario>") -> Scenario:
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        raise InvalidScenario(f"{source}: not valid YAML or JSON: {e}") from e
    except ValueError as e:  # YAML's own timestamps, e.g. 2026-02-30
        raise InvalidScenario(f"{source}: a date or time is impossible: {e}") from e
    top = _mapping(data, "scenario", source)
    _check_keys(top, _TOP_KEYS, "scenario", source)
    try:
        inputs = DecisionInputs(
            settings=_settings(top.get("settings"), source),
            state=_state(top.get("state"), source),
            cluster=_cluster(top.get("cluster"), source),
            now=_now(top.get("now"), source),
            health=_health(top.get("health"), source),
            forced=_bool(top.get("forced", False), "forced", source),
        )
    except InvalidScenario:
        raise
    except ShepherdError as e:
        raise InvalidScenario(f"{source}: {e}") from e
    seed = top.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidScenario(f"{source}: 'seed' must be an integer, got {seed!r}")
    return Scenario(inputs, seed)


def _settings(value: Any, source: str) -> LocalSettings | None:
    if value is None:
        return None
    data = _mapping(value, "settings", source)
    _check_keys(data, _SETTINGS_KEYS, "settings", source)
    base_url = data.get("base_url")
    if base_url is not None and not isinstance(base_url, str):
        raise InvalidScenario(f"{source}: 'settings.base_url' must be a string, got {base_url!r}")
    group = data.get("group")
    if group is not None and not isinstance(group, str):
        raise InvalidScenario(f"{source}: 'settings.group' must be a string, got {group!r}")
    path = data.get("path", "/usr/local/bin")
    if not isinstance(path, str):
        raise InvalidScenario(f"{source}: 'settings.path' must be a string, got {path!r}")
    return LocalSettings(
        enabled=_bool(data.get("enabled", True), "settings.enabled", source),
        pinned=_bool(data.get("pinned", False), "settings.pinned", source),
        link_dir=path,
        base_url=base_url,
        group=group,
        local_windows=_windows(data.get("local_windows"), "settings.local_windows", source),
        blackouts=_windows(data.get("blackouts"), "settings.blackouts", source),
        critical_bypasses_local_window=_bool(
            data.get("critical_bypasses_local_window", True),
            "settings.critical_bypasses_local_window",
            source,
        ),
    )


def _windows(value: Any, key: str, source: str) -> tuple[LocalWindow, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidScenario(f"{source}: '{key}' must be a list of windows, got {value!r}")
    windows = []
    for index, item in enumerate(value):
        spec = _mapping(item, f"{key}[{index}]", source)
        try:
            windows.append(LocalWindow.parse(spec))
        except InvalidInput as e:
            raise InvalidScenario(f"{source}: '{key}[{index}]': {e}") from e
    return tuple(windows)


def _state(value: Any, source: str) -> AgentState:
    if value is None:
        return AgentState()
    data = _mapping(value, "state", source)
    _check_keys(data, _STATE_KEYS, "state", source)
    bad = data.get("bad") or []
    if not isinstance(bad, list):
        raise InvalidScenario(f"{source}: 'state.bad' must be a list, got {bad!r}")
    return AgentState(
        active=_revision(data.get("active"), "state.active", source),
        backup=_revision(data.get("backup"), "state.backup", source),
        skip=_revision(data.get("skip"), "state.skip", source),
        bad=frozenset(
            rev
            for i, item in enumerate(bad)
            if (rev := _revision(item, f"state.bad[{i}]", source)) is not None
        ),
        unhealthy_marked=_bool(
            data.get("unhealthy_marked", False), "state.unhealthy_marked", source
        ),
    )


def _revision(value: Any, key: str, source: str) -> Revision | None:
    if value is None:
        return None
    try:
        if isinstance(value, str):
            return Revision.parse_dir_name(value)
        data = _mapping(value, key, source)
        _check_keys(data, {"version", "flags"}, key, source)
        flags = data.get("flags") or []
        if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
            raise InvalidScenario(f"{source}: '{key}.flags' must be a list of names, got {flags!r}")
        return Revision.of(Version.parse(str(data.get("version", ""))), *flags)
    except InvalidScenario:
        raise
    except InvalidInput as e:
        raise InvalidScenario(f"{source}: '{key}': {e}") from e


def _cluster(value: Any, source: str) -> ClusterView:
    data = _mapping(value, "cluster", source)
    _check_keys(data, _CLUSTER_KEYS, "cluster", source)
    if not data:
        raise InvalidScenario(f"{source}: 'cluster' needs one of find, channel or error")
    error = data.get("error")
    if error is not None:
        if not isinstance(error, str) or len(data) > 1:
            raise InvalidScenario(
                f"{source}: 'cluster.error' must be a sentence and stand alone, got {error!r}"
            )
        return ClusterView(failure=error)
    find: FindAnswer | None = None
    if "find" in data:
        find = parse_find_answer(_mapping(data["find"], "cluster.find", source))
    channel: ChannelAnswer | None = None
    if "channel" in data:
        spec = _mapping(data["channel"], "cluster.channel", source)
        _check_keys(spec, {"version", "critical"}, "cluster.channel", source)
        channel = ChannelAnswer(
            version=parse_version_text(str(spec.get("version", "none"))),
            critical=parse_critical(str(spec.get("critical", "no"))),
        )
    return ClusterView(find=find, channel=channel)


def _health(value: Any, source: str) -> AgentHealth:
    if value is None:
        return AgentHealth()
    data = _mapping(value, "health", source)
    _check_keys(data, _HEALTH_KEYS, "health", source)
    text = data.get("schedule")
    if text is None:
        return AgentHealth(None)
    if not isinstance(text, str):
        raise InvalidScenario(f"{source}: 'health.schedule' must be the file's text, got {text!r}")
    return AgentHealth(ExportedSchedule.parse(text))


def _now(value: Any, source: str) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as e:
            raise InvalidScenario(
                f"{source}: 'now' must be an ISO 8601 time such as 2026-11-24T10:30:00Z, "
                f"got {value!r}"
            ) from e
    else:
        raise InvalidScenario(f"{source}: 'now' must be an ISO 8601 time, got {value!r}")
    if moment.tzinfo is None:
        raise InvalidScenario(f"{source}: 'now' {value!r} needs a time zone (e.g. a trailing Z)")
    return moment.astimezone(UTC)


def _mapping(value: Any, key: str, source: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidScenario(f"{source}: '{key}' must be a mapping, got {value!r}")
    return value


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str, source: str) -> None:
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise InvalidScenario(
            f"{source}: unknown key(s) {', '.join(map(repr, unknown))} in '{where}'; "
            f"allowed: {', '.join(sorted(allowed))}"
        )


def _bool(value: Any, key: str, source: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidScenario(f"{source}: '{key}' must be true or false, got {value!r}")
    return value
