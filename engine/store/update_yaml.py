"""``update.yaml``: the state file Shepherd shares with Teleport's ``teleport-update``.

Read strictly where it matters (``version: v1``, ``kind: update_config``, field types) and
tolerantly elsewhere: any indentation or flow/block style, unknown keys kept and written
back unchanged. Written atomically (temp file + rename), mode 0644, in the shape
teleport-update's own encoder gives (2-space indent, revisions as block mappings, flag
lists in flow style, ``path: ""`` when empty), in the order of PROTOCOL §2.1, so that
rewriting a file teleport-update wrote changes no byte::

    version: v1
    kind: update_config
    spec:
      proxy: example.teleport.sh:443
      path: /usr/local/bin
      enabled: true
      pinned: false
    status:
      active:
        version: 17.1.0
        flags: [Enterprise]

Shepherd's own state never goes in here (see ``engine.store.agent_record``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InvalidInput, StateError
from engine.fsutil import atomic_write
from engine.versions import Flag, Revision, Version

__all__ = [
    "LastUpdate",
    "UpdateConfig",
    "UpdateSpec",
    "UpdateStatus",
    "load_config",
    "parse_config",
    "render_config",
    "save_config",
]

_MAX_FILE_BYTES = 1 << 20
# libyaml's parser with PyYAML's safe constructors: the same objects, ~10x faster.
SAFE_LOADER: type[yaml.SafeLoader] | type[yaml.CSafeLoader] = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)
_SPEC_KEYS = ("proxy", "path", "group", "base_url", "enabled", "pinned")
_STATUS_KEYS = ("id_file", "last_update", "active", "backup", "skip")
_LAST_UPDATE_KEYS = ("success", "time", "target")


@dataclass(frozen=True)
class UpdateSpec:
    proxy: str = ""
    path: str = ""
    group: str = ""
    base_url: str = ""
    enabled: bool = False
    pinned: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class LastUpdate:
    success: bool = False
    time: datetime | None = None
    target: Revision | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class UpdateStatus:
    id_file: str = ""
    last_update: LastUpdate | None = None
    active: Revision | None = None
    backup: Revision | None = None
    skip: Revision | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    @property
    def failed_target(self) -> Revision | None:
        """The target of the last update when that update failed."""
        last = self.last_update
        return last.target if last is not None and not last.success else None


@dataclass(frozen=True)
class UpdateConfig:
    spec: UpdateSpec = field(default_factory=UpdateSpec)
    status: UpdateStatus = field(default_factory=UpdateStatus)
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def with_spec(self, **changes: Any) -> UpdateConfig:
        return replace(self, spec=replace(self.spec, **changes))

    def with_status(self, **changes: Any) -> UpdateConfig:
        return replace(self, status=replace(self.status, **changes))


# ---- reading -----------------------------------------------------------------------------


def load_config(path: Path) -> UpdateConfig | None:
    """Read ``update.yaml``; None when the file does not exist.

    Raises:
        StateError: unreadable, not YAML, wrong kind/version ("invalid"), wrong field types.
    """
    try:
        with path.open("rb") as stream:
            raw = stream.read(_MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StateError(f"cannot read {path}: {e.strerror}") from e
    if len(raw) > _MAX_FILE_BYTES:
        raise StateError(f"invalid {path}: larger than 1 MiB")
    return parse_config(raw.decode("utf-8", errors="replace"), source=str(path))


def parse_config(text: str, *, source: str = "update.yaml") -> UpdateConfig:
    try:
        data = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError as e:
        raise StateError(f"invalid {source}: not YAML: {e}") from e
    except ValueError as e:  # PyYAML's own timestamp parsing, e.g. 2025-02-30
        raise StateError(f"invalid {source}: {e}") from e
    except RecursionError as e:
        raise StateError(f"invalid {source}: nested too deeply") from e
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise StateError(f"invalid {source}: expected a mapping at the top")
    version = data.get("version")
    kind = data.get("kind")
    if version != "v1":
        raise StateError(f"invalid {source}: version {version!r}, expected 'v1'")
    if kind != "update_config":
        raise StateError(f"invalid {source}: kind {kind!r}, expected 'update_config'")
    extra = {k: v for k, v in data.items() if k not in {"version", "kind", "spec", "status"}}
    return UpdateConfig(
        spec=_spec(_section(data.get("spec"), "spec", source), source),
        status=_status(_section(data.get("status"), "status", source), source),
        extra=extra,
    )


def _section(value: Any, name: str, source: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StateError(f"invalid {source}: {name!r} must be a mapping, got {value!r}")
    return value


def _spec(data: dict[str, Any], source: str) -> UpdateSpec:
    return UpdateSpec(
        proxy=_string(data, "proxy", "spec", source),
        path=_string(data, "path", "spec", source),
        group=_string(data, "group", "spec", source),
        base_url=_string(data, "base_url", "spec", source),
        enabled=_boolean(data, "enabled", "spec", source),
        pinned=_boolean(data, "pinned", "spec", source),
        extra={k: v for k, v in data.items() if k not in _SPEC_KEYS},
    )


def _status(data: dict[str, Any], source: str) -> UpdateStatus:
    last = data.get("last_update")
    last_update = None
    if last is not None:
        if not isinstance(last, dict):
            raise StateError(f"invalid {source}: 'status.last_update' must be a mapping")
        last_update = LastUpdate(
            success=_boolean(last, "success", "status.last_update", source),
            time=_time(last.get("time"), source),
            target=_revision(last.get("target"), "status.last_update.target", source),
            extra={k: v for k, v in last.items() if k not in _LAST_UPDATE_KEYS},
        )
    return UpdateStatus(
        id_file=_string(data, "id_file", "status", source),
        last_update=last_update,
        active=_revision(data.get("active"), "status.active", source),
        backup=_revision(data.get("backup"), "status.backup", source),
        skip=_revision(data.get("skip"), "status.skip", source),
        extra={k: v for k, v in data.items() if k not in _STATUS_KEYS},
    )


def _string(data: dict[str, Any], key: str, where: str, source: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise StateError(f"invalid {source}: '{where}.{key}' must be a string, got {value!r}")
    return value


def _boolean(data: dict[str, Any], key: str, where: str, source: str) -> bool:
    value = data.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise StateError(f"invalid {source}: '{where}.{key}' must be true or false, got {value!r}")
    return value


def _time(value: Any, source: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as e:
            raise StateError(
                f"invalid {source}: 'status.last_update.time' {value!r} is not an RFC 3339 time"
            ) from e
    else:
        raise StateError(f"invalid {source}: 'status.last_update.time' {value!r} is not a time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # PyYAML drops the zone of a 'Z' timestamp
    if moment.year <= 1:
        # Go's zero time.Time (0001-01-01T00:00:00Z) is how teleport-update says "never".
        return None
    return moment.astimezone(UTC)


def _revision(value: Any, where: str, source: str) -> Revision | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StateError(f"invalid {source}: '{where}' must be a mapping, got {value!r}")
    version = value.get("version")
    if version is None or version == "":
        return None
    if not isinstance(version, str):
        raise StateError(f"invalid {source}: '{where}.version' must be a string, got {version!r}")
    flags = value.get("flags") or []
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        raise StateError(f"invalid {source}: '{where}.flags' must be a list, got {flags!r}")
    try:
        parsed = {Flag.parse(f) for f in flags}
        if Flag.FIPS in parsed:
            # teleport-update writes [FIPS] alone when a proxy reports fips without the
            # "ent" edition, and treats it as the Enterprise FIPS build: same version dir
            # (_ent_fips), same teleport-ent-...-fips tarball. Read it the same way.
            parsed.add(Flag.ENTERPRISE)
        return Revision(_any_version(version), frozenset(parsed))
    except InvalidInput as e:
        raise StateError(f"invalid {source}: '{where}': {e}") from e


def _any_version(text: str) -> Version:
    """Teleport stores any string as a version: a non-semver one is kept as it is."""
    try:
        return Version.parse(text)
    except InvalidInput:
        return Version.opaque(text.strip())


# ---- writing -----------------------------------------------------------------------------


def render_config(config: UpdateConfig) -> str:
    """In the shape teleport-update's encoder gives (its testdata goldens): ``proxy`` and
    ``path`` always (``""`` when empty), ``group``/``base_url`` only when set, revisions as
    block mappings with flow flag lists, ``active`` always (``version: ""`` when none)."""
    lines = ["version: v1", "kind: update_config", "spec:"]
    spec = config.spec
    lines.append(f"  proxy: {_scalar(spec.proxy)}")
    lines.append(f"  path: {_scalar(spec.path)}")
    for key in ("group", "base_url"):
        value = getattr(spec, key)
        if value:
            lines.append(f"  {key}: {_scalar(value)}")
    lines.append(f"  enabled: {_bool(spec.enabled)}")
    lines.append(f"  pinned: {_bool(spec.pinned)}")
    lines += _extra(spec.extra, indent=2)
    lines.append("status:")
    lines += _status_lines(config.status)
    lines += _extra(config.extra, indent=0)
    return "\n".join(lines) + "\n"


def _status_lines(status: UpdateStatus) -> list[str]:
    lines = []
    if status.id_file:
        lines.append(f"  id_file: {_scalar(status.id_file)}")
    if status.last_update is not None:
        last = status.last_update
        lines.append("  last_update:")
        lines.append(f"    success: {_bool(last.success)}")
        if last.time is not None:
            lines.append(f"    time: {_rfc3339(last.time)}")
        if last.target is not None:
            lines += _block_revision("target", last.target, indent=4)
        lines += _extra(last.extra, indent=4)
    lines += _block_revision("active", status.active, indent=2)
    for key in ("backup", "skip"):
        revision = getattr(status, key)
        if revision is not None:
            lines += _block_revision(key, revision, indent=2)
    lines += _extra(status.extra, indent=2)
    return lines


def _rfc3339(moment: datetime) -> str:
    """UTC, 'Z', fraction only when non-zero: what Go's time.Time marshals to (in UTC).

    Formatted by hand: strftime('%Y') does not zero-pad years below 1000 on glibc.
    """
    stamp = moment.astimezone(UTC)
    fraction = f".{stamp.microsecond:06d}".rstrip("0") if stamp.microsecond else ""
    return (
        f"{stamp.year:04d}-{stamp.month:02d}-{stamp.day:02d}"
        f"T{stamp.hour:02d}:{stamp.minute:02d}:{stamp.second:02d}{fraction}Z"
    )


def _block_revision(key: str, revision: Revision | None, *, indent: int) -> list[str]:
    pad = " " * indent
    version = _scalar(str(revision.version)) if revision is not None else '""'
    lines = [f"{pad}{key}:", f"{pad}  version: {version}"]
    if revision is not None and revision.flags:
        flags = ", ".join(f.value for f in revision.ordered_flags)
        lines.append(f"{pad}  flags: [{flags}]")
    return lines


def _bool(value: bool) -> str:
    return "true" if value else "false"


_UNSAFE_START = set("[]{}&*!|>'\"%@`,#?:-<=")


def _scalar(value: str) -> str:
    """A plain YAML scalar when it reads back as the same string, else double-quoted."""
    plain = (
        value
        and value == value.strip()
        and value[0] not in _UNSAFE_START
        and ": " not in value
        and " #" not in value
        and not value.endswith(":")
        and "\n" not in value
        and all(ch.isprintable() for ch in value)
    )
    if plain:
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value)


def _extra(values: Mapping[str, Any], *, indent: int) -> list[str]:
    if not values:
        return []
    dumped = yaml.safe_dump(dict(values), default_flow_style=False, sort_keys=False, indent=2)
    return [" " * indent + line for line in dumped.splitlines()]


def save_config(path: Path, config: UpdateConfig) -> None:
    """Write atomically with mode 0644; the old file stays intact on any failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, render_config(config).encode("utf-8"), mode=0o644)
