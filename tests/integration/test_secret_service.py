"""The real Secret Service: gnome-keyring-daemon on a private session bus, unlocked
non-interactively; SecretStore on it stores, uses, replaces and deletes, and refuses a
locked collection without prompting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.errors import SecretStoreError
from engine.settings.secrets import SecretStore, mirror_headers, open_store
from sandbox.secretservice import SessionKeyring

pytestmark = pytest.mark.integration

UNLOCK_PASSWORD = "login-keyring-pw-" + "t3st"
TOKEN = "ss-mirror-t0ken-" + "Jq4e"


@pytest.fixture
def session_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionKeyring]:
    with SessionKeyring(tmp_path / "keyring", password=UNLOCK_PASSWORD) as ring:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ring.address)
        yield ring


def test_store_use_replace_delete(session_keyring: SessionKeyring, tmp_path: Path) -> None:
    store = open_store("secret-service", root=tmp_path / "root")
    assert isinstance(store, SecretStore)
    assert store.backend_name == "secret-service"
    assert not store.is_set("mirror-token")
    store.set("mirror-token", TOKEN)
    assert store.is_set("mirror-token")
    assert mirror_headers(store) == {"Authorization": f"Bearer {TOKEN}"}
    store.set("mirror-token", "replaced-" + TOKEN)
    value = store.get("mirror-token")
    assert value is not None
    assert value.reveal() == "replaced-" + TOKEN
    assert store.delete("mirror-token") is True
    assert not store.is_set("mirror-token")
    assert store.delete("mirror-token") is False
    # Nothing went to the file backend's place under the root.
    assert not (tmp_path / "root").exists()
    for block in session_keyring.environ_of_children():
        assert TOKEN.encode() not in block


def test_a_locked_collection_is_an_error_without_a_prompt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir = tmp_path / "keyring"
    with SessionKeyring(workdir, password=UNLOCK_PASSWORD) as ring:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ring.address)
        open_store("secret-service", root=tmp_path).set("mirror-token", TOKEN)
    # The same login keyring, the daemon started without the password: locked.
    with SessionKeyring(workdir) as ring:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ring.address)
        store = open_store("secret-service", root=tmp_path)
        with pytest.raises(SecretStoreError, match="locked"):
            store.is_set("mirror-token")
        with pytest.raises(SecretStoreError, match="locked"):
            store.set("mirror-token", "other")
    # Unlocked again, the secret is still there: it lives in the keyring, not in memory.
    with SessionKeyring(workdir, password=UNLOCK_PASSWORD) as ring:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ring.address)
        value = open_store("secret-service", root=tmp_path).get("mirror-token")
        assert value is not None
        assert value.reveal() == TOKEN
    stored = b"".join(p.read_bytes() for p in workdir.rglob("*.keyring"))
    assert stored
    assert TOKEN.encode() not in stored


def test_the_service_going_away_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SessionKeyring(tmp_path / "keyring", password=UNLOCK_PASSWORD) as ring:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", ring.address)
        store = open_store("secret-service", root=tmp_path)
    with pytest.raises(SecretStoreError):
        store.is_set("mirror-token")
