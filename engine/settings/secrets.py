"""Secrets (the HTTP proxy password, private-mirror tokens) through the ``keyring`` API only.

    store = open_store("file", root=Path("/"))    # the ``secrets.backend`` setting
    store.set("proxy-password", "s3cret")          # create or replace
    store.is_set("proxy-password")                 # True: all an API client may learn
    store.get("proxy-password")                    # Secret('********'), engine-internal only
    store.delete("proxy-password")                 # idempotent
    store.backend_name                             # "file" | "secret-service", for status
    mirror_headers(store, "staging")               # {"Authorization": "Bearer …"} or {}

The backend is chosen explicitly, never by keyring's implicit chain (headless, that chain
prompts on a terminal or picks the ``fail`` backend):

- ``secret-service``: the desktop's Secret Service (gnome-keyring, KWallet) on the session
  bus in ``DBUS_SESSION_BUS_ADDRESS``. Its default collection must already be unlocked: the
  daemon never triggers an unlock prompt; a locked or missing collection is an error.
- ``file``: ``EncryptedFileKeyring`` (``engine.settings.secret_file``), a keyring backend
  of our own for a headless root daemon: one AES-256-GCM encrypted file, its key in a
  separate file created on first use, both 0600 and owned by the daemon's user, in a 0700
  directory (``<root>/var/lib/shepherd/secrets``). Files with group/other permissions,
  another owner or a symlink are refused; a corrupted store (or one encrypted under another
  key) is a clear error, never "no secret". Writes are atomic.

There is no fallback from one backend to the other: a broken backend is an error that says
what is wrong. Secret names are ``proxy-password`` and ``mirror-token``, optionally scoped
to one agent namespace as ``mirror-token:staging``. Values leave this module only wrapped
in ``Secret``, which never shows itself in repr/str/logs.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring.errors
import secretstorage
from jeepney.wrappers import DBusErrorResponse
from keyring.backend import KeyringBackend
from keyring.backends import SecretService as _SecretService
from keyring.compat import properties
from secretstorage.exceptions import SecretStorageException

from engine.errors import InvalidInput, SecretStoreError
from engine.names import validate_namespace
from engine.settings.secret_file import EncryptedFileKeyring
from engine.sources.transport import Secret

__all__ = [
    "BACKENDS",
    "FILE_STORE_DIR",
    "SECRET_NAMES",
    "SERVICE",
    "EncryptedFileKeyring",
    "SecretStore",
    "mirror_headers",
    "open_store",
    "validate_secret_name",
]

SERVICE = "agent-shepherd"
BACKENDS = ("secret-service", "file")
FILE_STORE_DIR = "var/lib/shepherd/secrets"
SECRET_NAMES: dict[str, str] = {
    "proxy-password": "password of network.proxy_user for the HTTP proxy network.http_proxy",
    "mirror-token": "bearer token sent to the custom CDN / private mirror (download.base_url)",
}
_NAME = re.compile(r"^(?P<base>[a-z-]+)(?::(?P<namespace>[A-Za-z0-9-]+))?$")
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x1f\x7f]")


def validate_secret_name(name: str) -> str:
    """``proxy-password`` or ``mirror-token``, optionally ``:<namespace>``.

    Raises:
        InvalidInput: any other name, naming it and the known ones.
    """
    match = _NAME.match(name)
    if match is None or match["base"] not in SECRET_NAMES:
        known = ", ".join(SECRET_NAMES)
        raise InvalidInput(
            f"unknown secret name {name!r}: expected one of {known} (optionally ':<namespace>')"
        )
    if match["namespace"] is not None:
        validate_namespace(match["namespace"])
    return name


# --- the Secret Service backend ---------------------------------------------------------------


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


def _secret_service_backend() -> KeyringBackend:
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


# --- the store ----------------------------------------------------------------------------------


class SecretStore:
    """Named secrets in one explicitly chosen keyring backend.

    Every method raises ``SecretStoreError`` when the backend fails (unavailable, locked,
    unsafe permissions, corrupted), and ``InvalidInput`` for a bad name or value.
    """

    def __init__(
        self, backend: KeyringBackend, backend_name: str, *, service: str = SERVICE
    ) -> None:
        self._backend = backend
        self._backend_name = backend_name
        self._service = service

    @property
    def backend_name(self) -> str:
        """``file`` or ``secret-service``: what ``shepherd status`` shows."""
        return self._backend_name

    @property
    def backend(self) -> KeyringBackend:
        return self._backend

    def __repr__(self) -> str:
        return f"SecretStore(backend={self._backend_name!r})"

    def set(self, name: str, value: str | Secret) -> None:
        """Store ``value`` under ``name``, replacing any previous value.

        Raises:
            InvalidInput: unknown name; empty value or one with control characters.
            SecretStoreError: the backend failed.
        """
        validate_secret_name(name)
        text = value.reveal() if isinstance(value, Secret) else value
        if not text:
            raise InvalidInput(f"the value for secret {name!r} is empty; use delete to remove it")
        if _FORBIDDEN_IN_VALUE.search(text):
            raise InvalidInput(
                f"the value for secret {name!r} contains control characters (a newline?)"
            )
        with self._translated("store", name):
            self._backend.set_password(self._service, name, text)

    def get(self, name: str) -> Secret | None:
        """The secret, wrapped; None when none is stored. For the engine only (the proxy
        and the mirror): API answers carry ``is_set`` and never a value."""
        validate_secret_name(name)
        with self._translated("read", name):
            value = self._backend.get_password(self._service, name)
        return None if value is None else Secret(value)

    def is_set(self, name: str) -> bool:
        return self.get(name) is not None

    def delete(self, name: str) -> bool:
        """Remove the secret; True when one was stored. Idempotent."""
        validate_secret_name(name)
        if not self.is_set(name):
            return False
        with self._translated("delete", name):
            try:
                self._backend.delete_password(self._service, name)
            except keyring.errors.PasswordDeleteError:
                return False
        return True

    def status(self, namespaces: tuple[str, ...] = ()) -> dict[str, bool]:
        """``{name: is_set}`` for every known name, host-wide and for ``namespaces``."""
        names = [*SECRET_NAMES, *(f"{n}:{ns}" for ns in namespaces for n in SECRET_NAMES)]
        return {name: self.is_set(name) for name in names}

    @contextlib.contextmanager
    def _translated(self, action: str, name: str) -> Iterator[None]:
        try:
            yield
        except SecretStoreError:
            raise
        except keyring.errors.KeyringLocked as e:
            raise SecretStoreError(
                f"cannot {action} secret {name!r}: the {self._backend_name} keyring is locked: {e}"
            ) from e
        except (keyring.errors.KeyringError, OSError) as e:
            raise SecretStoreError(
                f"cannot {action} secret {name!r} in the {self._backend_name} keyring: {e}"
            ) from e
        except (SecretStorageException, DBusErrorResponse) as e:
            raise SecretStoreError(
                f"cannot {action} secret {name!r}: the Secret Service failed: {e}"
            ) from e


def open_store(
    backend: str,
    *,
    root: Path,
    store_dir: Path | None = None,
) -> SecretStore:
    """The secret store the ``secrets.backend`` setting names.

    Args:
        backend: ``file`` or ``secret-service``.
        root: the host root (``/`` in production); the file store lives in
            ``<root>/var/lib/shepherd/secrets`` unless ``store_dir`` is given.

    Raises:
        InvalidInput: an unknown backend name.
        SecretStoreError: the Secret Service is not reachable (no fallback to the file).
    """
    if backend == "file":
        directory = store_dir if store_dir is not None else root / FILE_STORE_DIR
        return SecretStore(EncryptedFileKeyring(directory / "store"), "file")
    if backend == "secret-service":
        return SecretStore(_secret_service_backend(), "secret-service")
    raise InvalidInput(f"unknown secrets backend {backend!r}: expected one of {BACKENDS}")


def mirror_headers(store: SecretStore, namespace: str | None = None) -> dict[str, str]:
    """``{"Authorization": "Bearer <token>"}`` for the CDN/mirror, or ``{}`` without a token.

    A token stored as ``mirror-token:<namespace>`` wins over the host-wide ``mirror-token``.
    The dict holds the token in clear: pass it straight to the download, never log it.
    """
    names = ([f"mirror-token:{namespace}"] if namespace else []) + ["mirror-token"]
    for name in names:
        token = store.get(name)
        if token is not None:
            return {"Authorization": f"Bearer {token.reveal()}"}
    return {}
