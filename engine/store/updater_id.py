"""The stable per-host updater id sent as ``update_id`` (PROTOCOL §1.3).

Derived from the agent's ``<data_dir>/host_uuid`` and ``/etc/machine-id`` with a UUIDv5
hash, stored in an id file; an existing valid id file is kept as it is.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

from engine.fsutil import atomic_write

__all__ = ["load_or_create_updater_id"]

_NAMESPACE = uuid.UUID("5d3f6c1e-8a7b-4d2c-9e0f-1a2b3c4d5e6f")
_log = logging.getLogger(__name__)


def _read_small(path: Path) -> str | None:
    try:
        with path.open("rb") as stream:
            text = stream.read(256).decode("utf-8", errors="replace").strip()
    except OSError:
        return None
    return text or None


def load_or_create_updater_id(id_file: Path, host_uuid_file: Path, machine_id_file: Path) -> str:
    """Return the updater id, creating the id file if it is missing or invalid.

    The file holds the bare UUID without a newline, as ``teleport-update`` writes it (a Go
    reader may parse it without trimming). While the agent has no ``host_uuid`` yet (not
    joined), an id derived from ``/etc/machine-id`` alone is returned but NOT stored: a
    machine-id cloned with a VM image would otherwise pin the same id on every clone for
    good, since an existing id file is kept.
    """
    existing = _read_small(id_file)
    if existing is not None:
        try:
            return str(uuid.UUID(existing))
        except ValueError:
            _log.warning("replacing invalid updater id file %s (%r)", id_file, existing[:40])
    host_uuid = _read_small(host_uuid_file)
    machine_id = _read_small(machine_id_file)
    if host_uuid is None and machine_id is not None:
        return str(uuid.uuid5(_NAMESPACE, f"\n{machine_id}"))
    if host_uuid is None:
        value = uuid.uuid4()
    else:
        value = uuid.uuid5(_NAMESPACE, f"{host_uuid}\n{machine_id or ''}")
    id_file.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(id_file, str(value).encode(), mode=0o644)
    return str(value)
