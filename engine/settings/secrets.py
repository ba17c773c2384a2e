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
- ``file``: ``EncryptedFileKeyring``, a keyring backend of our own for a headless root
  daemon: one AES-256-GCM encrypted file, its key in a separate file created on first use,
  both 0600 and owned by the daemon's user, in a 0700 directory (``<root>/var/lib/shepherd/
  secrets``). Files with group/other permissions, another owner or a symlink are refused;
  a corrupted store (or one encrypted under another key) is a clear error, never "no
  secret". Writes are atomic.

There is no fallback from one backend to the other: a broken backend is an error that says
what is wrong. Secret names are ``proxy-password`` and ``mirror-token``, optionally scoped
to one agent namespace as ``mirror-token:staging``. Values leave this module only wrapped
in ``Secret``, which never shows itself in repr/str/logs.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import InvalidInput, SecretStoreError
from engine.settings.secret_names import (
    AGENT_SCOPED,
    BACKENDS,
    FILE_STORE_DIR,
    SECRET_NAMES,
    SERVICE,
    validate_secret_name,
)
from engine.sources.transport import Secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from engine.settings.keyring_file import EncryptedFileKeyring

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

_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x1f\x7f]")


class SecretStore:
    """Named secrets in one explicitly chosen keyring backend.

    Every method raises ``SecretStoreError`` when the backend fails (unavailable, locked,
    unsafe permissions, corrupted), and ``InvalidInput`` for a bad name or value.
    """

    def __init__(
        self, backend: KeyringBackend, backend_name: str, *, service: str = SERVICE
    ) -> None:
        self._backend: KeyringBackend | None = backend
        self._opener: Callable[[], KeyringBackend] | None = None
        self._holds_nothing: Callable[[], bool] = lambda: False
        self._opening = threading.Lock()
        self._backend_name = backend_name
        self._service = service

    @classmethod
    def opened_on_use(
        cls,
        opener: Callable[[], KeyringBackend],
        backend_name: str,
        *,
        holds_nothing: Callable[[], bool],
        service: str = SERVICE,
    ) -> SecretStore:
        """A store whose backend ``opener`` makes when a secret is first stored or read
        while ``holds_nothing()`` is False: a daemon with no secrets (status asks which are
        stored on every ``GET /v1``) never loads keyring (~2 MB resident)."""
        store = cls(None, backend_name, service=service)  # type: ignore[arg-type]
        store._opener, store._holds_nothing = opener, holds_nothing
        return store

    @property
    def backend_name(self) -> str:
        """``file`` or ``secret-service``: what ``shepherd status`` shows."""
        return self._backend_name

    @property
    def backend(self) -> KeyringBackend:
        with self._opening:
            if self._backend is None:
                assert self._opener is not None  # noqa: S101 - one of the two is always set
                self._backend = self._opener()
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
            self.backend.set_password(self._service, name, text)

    def get(self, name: str) -> Secret | None:
        """The secret, wrapped; None when none is stored. For the engine only (the proxy
        and the mirror): API answers carry ``is_set`` and never a value."""
        validate_secret_name(name)
        if self._backend is None and self._holds_nothing():
            return None
        with self._translated("read", name):
            value = self.backend.get_password(self._service, name)
        return None if value is None else Secret(value)

    def is_set(self, name: str) -> bool:
        return self.get(name) is not None

    def delete(self, name: str) -> bool:
        """Remove the secret; True when one was stored. Idempotent."""
        validate_secret_name(name)
        if not self.is_set(name):
            return False
        import keyring.errors  # noqa: PLC0415 - loaded on use (the backend has loaded it)

        with self._translated("delete", name):
            try:
                self.backend.delete_password(self._service, name)
            except keyring.errors.PasswordDeleteError:
                return False
        return True

    def status(self, namespaces: tuple[str, ...] = ()) -> dict[str, bool]:
        """``{name: is_set}`` for every known name, host-wide and for ``namespaces``."""
        names = [*SECRET_NAMES, *(f"{n}:{ns}" for ns in namespaces for n in AGENT_SCOPED)]
        return {name: self.is_set(name) for name in names}

    def _desktop_errors(self) -> tuple[type[Exception], ...]:
        return _secret_service_errors() if self._backend_name == "secret-service" else ()

    @contextlib.contextmanager
    def _translated(self, action: str, name: str) -> Iterator[None]:
        import keyring.errors  # noqa: PLC0415 - loaded on use

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
        except self._desktop_errors() as e:
            raise SecretStoreError(
                f"cannot {action} secret {name!r}: the Secret Service failed: {e}"
            ) from e


def _secret_service_errors() -> tuple[type[Exception], ...]:
    from jeepney.wrappers import DBusErrorResponse  # noqa: PLC0415 - loaded on use
    from secretstorage.exceptions import SecretStorageException  # noqa: PLC0415 - loaded on use

    return (SecretStorageException, DBusErrorResponse)


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
        store = directory / "store"
        return SecretStore.opened_on_use(
            lambda: _file_keyring(store),
            "file",
            holds_nothing=lambda: not store.exists() and not store.is_symlink(),
        )
    if backend == "secret-service":
        # Imported here: secretstorage, jeepney and cryptography (~8 MB resident) are for a
        # desktop session; the headless daemon's file store never loads them.
        from engine.settings.keyring_desktop import secret_service_backend  # noqa: PLC0415 - loaded on use

        return SecretStore(secret_service_backend(), "secret-service")
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


def _file_keyring(path: Path) -> EncryptedFileKeyring:
    from engine.settings.keyring_file import EncryptedFileKeyring  # noqa: PLC0415 - on use

    return EncryptedFileKeyring(path)


def __getattr__(name: str) -> object:
    if name == "EncryptedFileKeyring":  # keyring (~2 MB) only when asked for
        from engine.settings.keyring_file import EncryptedFileKeyring  # noqa: PLC0415

        return EncryptedFileKeyring
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
