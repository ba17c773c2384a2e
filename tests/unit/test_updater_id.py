from __future__ import annotations

import uuid
from pathlib import Path

from engine.store.updater_id import load_or_create_updater_id


def setup(tmp_path: Path, host_uuid: str | None, machine_id: str | None) -> tuple[Path, Path, Path]:
    host = tmp_path / "var/lib/teleport/host_uuid"
    machine = tmp_path / "etc/machine-id"
    for path, value in ((host, host_uuid), (machine, machine_id)):
        if value is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(value + "\n")
    return tmp_path / "var/lib/teleport/teleport-update.id", host, machine


def test_id_is_stable_and_derived_from_host_and_machine(tmp_path: Path) -> None:
    id_file, host, machine = setup(tmp_path, "0a1b-host", "f00dmachine")
    first = load_or_create_updater_id(id_file, host, machine)
    id_file.unlink()
    assert load_or_create_updater_id(id_file, host, machine) == first
    assert uuid.UUID(first).version == 5
    assert id_file.read_text() == first  # bare UUID, no newline, as teleport-update writes
    assert oct(id_file.stat().st_mode & 0o777) == "0o644"


def test_different_hosts_get_different_ids(tmp_path: Path) -> None:
    a = load_or_create_updater_id(*setup(tmp_path / "a", "host-a", "m"))
    b = load_or_create_updater_id(*setup(tmp_path / "b", "host-b", "m"))
    assert a != b


def test_existing_id_file_is_kept(tmp_path: Path) -> None:
    id_file, host, machine = setup(tmp_path, "h", "m")
    id_file.parent.mkdir(parents=True, exist_ok=True)
    kept = str(uuid.uuid4())
    id_file.write_text(kept)
    assert load_or_create_updater_id(id_file, host, machine) == kept
    assert id_file.read_text() == kept


def test_invalid_id_file_is_replaced(tmp_path: Path) -> None:
    id_file, host, machine = setup(tmp_path, "h", "m")
    id_file.parent.mkdir(parents=True, exist_ok=True)
    id_file.write_text("garbage")
    value = load_or_create_updater_id(id_file, host, machine)
    assert uuid.UUID(value)
    assert id_file.read_text().strip() == value


def test_without_any_source_a_random_id_is_stored(tmp_path: Path) -> None:
    id_file, host, machine = setup(tmp_path, None, None)
    value = load_or_create_updater_id(id_file, host, machine)
    assert load_or_create_updater_id(id_file, host, machine) == value


def test_without_host_uuid_the_machine_id_is_used_but_not_stored(tmp_path: Path) -> None:
    # Before the agent joins there is no host_uuid; storing a machine-id-only id would keep
    # it forever, and cloned machine-ids would collide across hosts.
    id_file, host, machine = setup(tmp_path, None, "f00dmachine")
    early = load_or_create_updater_id(id_file, host, machine)
    assert load_or_create_updater_id(id_file, host, machine) == early
    assert not id_file.exists()
    host.parent.mkdir(parents=True, exist_ok=True)
    host.write_text("0a1b-host\n")
    joined = load_or_create_updater_id(id_file, host, machine)
    assert joined != early
    assert id_file.read_text() == joined


def test_same_machine_id_different_host_uuids_differ(tmp_path: Path) -> None:
    a = load_or_create_updater_id(*setup(tmp_path / "a", "host-a", "cloned"))
    b = load_or_create_updater_id(*setup(tmp_path / "b", "host-b", "cloned"))
    c = load_or_create_updater_id(*setup(tmp_path / "c", "host-a", "other"))
    assert len({a, b, c}) == 3
