"""The encrypted, root-only file keyring and the SecretStore on top of it (real files)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keyring
import keyring.backend
import pytest

from engine.errors import InvalidInput, SecretStoreError
from engine.settings.secrets import (
    FILE_STORE_DIR,
    EncryptedFileKeyring,
    SecretStore,
    mirror_headers,
    open_store,
)
from engine.sources.transport import Secret

PASSWORD = "pr0xy-Pa55-unit-" + "x7Qz"
TOKEN = "mirror-t0ken-unit-" + "k9Wv"


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return open_store("file", root=tmp_path / "root")


def _store_dir(tmp_path: Path) -> Path:
    return tmp_path / "root" / FILE_STORE_DIR


def _all_bytes_under(path: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in path.rglob("*") if p.is_file() and not p.is_symlink()]


def test_store_use_replace_delete(store: SecretStore) -> None:
    assert store.backend_name == "file"
    assert not store.is_set("proxy-password")
    assert store.get("proxy-password") is None

    store.set("proxy-password", PASSWORD)
    assert store.is_set("proxy-password")
    secret = store.get("proxy-password")
    assert isinstance(secret, Secret)
    assert secret.reveal() == PASSWORD
    assert PASSWORD not in repr(secret) + str(secret) + repr(store)

    store.set("proxy-password", Secret("replaced-" + PASSWORD))
    value = store.get("proxy-password")
    assert value is not None
    assert value.reveal() == "replaced-" + PASSWORD

    assert store.delete("proxy-password") is True
    assert not store.is_set("proxy-password")
    assert store.delete("proxy-password") is False  # idempotent


def test_files_are_private_and_hold_no_secret_in_clear(store: SecretStore, tmp_path: Path) -> None:
    store.set("proxy-password", PASSWORD)
    store.set("mirror-token", TOKEN)
    directory = _store_dir(tmp_path)
    assert oct(directory.stat().st_mode & 0o777) == oct(0o700)
    names = sorted(p.name for p in directory.iterdir())
    assert names == [".store.lock", "key", "store"]
    for path in directory.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600, path
    for path, data in _all_bytes_under(tmp_path):
        assert PASSWORD.encode() not in data, path
        assert TOKEN.encode() not in data, path


def test_a_second_store_on_the_same_files_sees_the_secrets(tmp_path: Path) -> None:
    open_store("file", root=tmp_path).set("mirror-token", TOKEN)
    again = open_store("file", root=tmp_path)
    token = again.get("mirror-token")
    assert token is not None
    assert token.reveal() == TOKEN


@pytest.mark.parametrize("which", ["store", "key"])
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660], ids=oct)
def test_group_or_other_permissions_are_refused(
    store: SecretStore, tmp_path: Path, which: str, mode: int
) -> None:
    store.set("proxy-password", PASSWORD)
    path = _store_dir(tmp_path) / which
    path.chmod(mode)
    with pytest.raises(SecretStoreError, match=rf"{which}.*mode {mode:04o}.*0600"):
        store.get("proxy-password")
    with pytest.raises(SecretStoreError, match="0600"):
        store.set("proxy-password", "other")
    path.chmod(0o600)
    value = store.get("proxy-password")
    assert value is not None
    assert value.reveal() == PASSWORD


def test_a_loose_store_directory_is_refused(store: SecretStore, tmp_path: Path) -> None:
    _store_dir(tmp_path).mkdir(parents=True)
    _store_dir(tmp_path).chmod(0o755)
    with pytest.raises(SecretStoreError, match="mode 0700"):
        store.set("proxy-password", PASSWORD)


def test_a_symlinked_key_is_refused(store: SecretStore, tmp_path: Path) -> None:
    store.set("proxy-password", PASSWORD)
    key = _store_dir(tmp_path) / "key"
    elsewhere = tmp_path / "elsewhere-key"
    key.rename(elsewhere)
    key.symlink_to(elsewhere)
    with pytest.raises(SecretStoreError, match="not a regular file"):
        store.get("proxy-password")


def test_a_corrupted_store_is_a_clear_error_not_a_missing_secret(
    store: SecretStore, tmp_path: Path
) -> None:
    store.set("proxy-password", PASSWORD)
    path = _store_dir(tmp_path) / "store"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(SecretStoreError, match="corrupted or was encrypted with another key"):
        store.is_set("proxy-password")
    path.write_bytes(b"garbage")
    with pytest.raises(SecretStoreError, match="corrupted"):
        store.get("proxy-password")


def test_a_store_under_another_key_is_refused(store: SecretStore, tmp_path: Path) -> None:
    store.set("proxy-password", PASSWORD)
    other = tmp_path / "other"
    open_store("file", root=other / "root").set("proxy-password", PASSWORD)
    (_store_dir(tmp_path) / "key").write_bytes((_store_dir(other) / "key").read_bytes())
    with pytest.raises(SecretStoreError, match="another key"):
        store.get("proxy-password")


def test_a_lost_key_is_not_silently_replaced(store: SecretStore, tmp_path: Path) -> None:
    store.set("proxy-password", PASSWORD)
    (_store_dir(tmp_path) / "key").unlink()
    with pytest.raises(SecretStoreError, match=r"key file .* is missing"):
        store.set("mirror-token", TOKEN)
    assert not (_store_dir(tmp_path) / "key").exists()


def test_a_malformed_key_file_is_refused(store: SecretStore, tmp_path: Path) -> None:
    store.set("proxy-password", PASSWORD)
    (_store_dir(tmp_path) / "key").write_bytes(b"c2hvcnQ=\n")
    with pytest.raises(SecretStoreError, match="256-bit key"):
        store.get("proxy-password")


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "proxy-password:",
        "proxy-password:bad name",
        "proxy-password:staging",  # the HTTP proxy is host-wide: so is its password
        "mirror-token:system",
        "webhook-secret:staging",
        "",
    ],
)
def test_unknown_secret_names_are_refused(store: SecretStore, name: str) -> None:
    with pytest.raises(InvalidInput):
        store.set(name, "value")


@pytest.mark.parametrize("value", ["", "line\nbreak", "nul\x00"], ids=repr)
def test_empty_or_control_character_values_are_refused(store: SecretStore, value: str) -> None:
    with pytest.raises(InvalidInput, match="proxy-password"):
        store.set("proxy-password", value)
    assert not store.is_set("proxy-password")


def test_mirror_headers_prefers_the_namespace_token(store: SecretStore) -> None:
    assert mirror_headers(store, "staging") == {}
    store.set("mirror-token", TOKEN)
    assert mirror_headers(store) == {"Authorization": f"Bearer {TOKEN}"}
    assert mirror_headers(store, "staging") == {"Authorization": f"Bearer {TOKEN}"}
    store.set("mirror-token:staging", "staging-" + TOKEN)
    assert mirror_headers(store, "staging") == {"Authorization": f"Bearer staging-{TOKEN}"}
    assert mirror_headers(store, "prod") == {"Authorization": f"Bearer {TOKEN}"}
    assert store.status(("staging",)) == {
        "proxy-password": False,
        "mirror-token": True,
        "webhook-secret": False,
        "smtp-password": False,
        "mirror-token:staging": True,
    }


def test_the_backend_is_a_keyring_backend_never_picked_implicitly(tmp_path: Path) -> None:
    backend = EncryptedFileKeyring(tmp_path / "s" / "store")
    assert isinstance(backend, keyring.backend.KeyringBackend)
    assert not EncryptedFileKeyring.viable
    assert all(type(k) is not EncryptedFileKeyring for k in keyring.backend.get_all_keyring())
    # Through the plain keyring API too.
    backend.set_password("svc", "user", PASSWORD)
    assert backend.get_password("svc", "user") == PASSWORD
    backend.delete_password("svc", "user")
    assert backend.get_password("svc", "user") is None
    with pytest.raises(keyring.errors.PasswordDeleteError):
        backend.delete_password("svc", "user")


def test_unknown_backend_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown secrets backend 'vault'"):
        open_store("vault", root=tmp_path)


def test_secret_service_without_a_session_bus_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path}/no-bus")
    with pytest.raises(SecretStoreError, match="Secret Service is not available"):
        open_store("secret-service", root=tmp_path)
    assert not (tmp_path / FILE_STORE_DIR).exists()


def test_store_files_are_owned_by_this_process(store: SecretStore, tmp_path: Path) -> None:
    store.set("proxy-password", PASSWORD)
    for path in _store_dir(tmp_path).iterdir():
        assert path.stat().st_uid == os.geteuid()


def test_readers_racing_to_create_the_store_directory_all_get_an_answer(tmp_path: Path) -> None:
    """The daemon reads secrets from several threads at start (the API, each poll loop):
    the first reads find no directory yet, and all of them may try to create it."""
    for attempt in range(20):
        backend = EncryptedFileKeyring(tmp_path / str(attempt) / "secrets" / "store")
        start = threading.Barrier(8)

        def read(backend: EncryptedFileKeyring = backend, start: threading.Barrier = start) -> None:
            start.wait()
            assert backend.get_password("agent-shepherd", "proxy-password") is None

        with ThreadPoolExecutor(max_workers=8) as pool:
            for future in [pool.submit(read) for _ in range(8)]:
                future.result()  # raises what the thread raised
