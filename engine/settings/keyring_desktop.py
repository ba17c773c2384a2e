"""keyring's Secret Service backend (gnome-keyring, KWallet), made never to prompt."""

from __future__ import annotations

from typing import Any

import keyring.errors
import secretstorage
from keyring.backend import KeyringBackend
from keyring.backends import SecretService as _SecretService
from keyring.compat import properties
from secretstorage.exceptions import SecretStorageException

from engine.errors import SecretStoreError

__all__ = ["secret_service_backend"]


class _SecretServiceNoPrompt(_SecretService.Keyring):
    """keyring's Secret Service backend, but never prompting to unlock (a root daemon has no
    one to answer the prompt, and the wait would never end)."""

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("agent-shepherd's Secret Service keyring is only used explicitly")

    def get_preferred_collection(self) -> Any:
        bus = secretstorage.dbus_init()
        try:
            collection = secretstorage.get_default_collection(bus)
            locked = collection.is_locked()
        except SecretStorageException as e:
            bus.close()
            raise keyring.errors.InitError(f"no default Secret Service collection: {e}") from e
        if locked:
            bus.close()
            raise keyring.errors.KeyringLocked(
                "the default Secret Service collection is locked; unlock it in the session "
                "(Shepherd never prompts)"
            )
        return collection

    def unlock(self, item: Any) -> None:
        if item.is_locked():
            raise keyring.errors.KeyringLocked("the Secret Service item is locked")


def secret_service_backend() -> KeyringBackend:
    try:
        _SecretService.Keyring.priority  # noqa: B018 - raises when unusable
    except (RuntimeError, OSError, ValueError) as e:
        raise SecretStoreError(
            f"the Secret Service is not available (secrets.backend = secret-service): {e}. "
            "It needs a session bus (DBUS_SESSION_BUS_ADDRESS) with gnome-keyring or KWallet; "
            "a headless daemon should use secrets.backend = file"
        ) from e
    backend: KeyringBackend = _SecretServiceNoPrompt()  # type: ignore[no-untyped-call]
    return backend
