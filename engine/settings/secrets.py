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

import base64
import contextlib
import fcntl
import json
import os
import re
import secrets as _random
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import keyring.errors
import secretstorage
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from jeepney.wrappers import DBusErrorResponse
from keyring.backend import KeyringBackend
from keyring.backends import SecretService as _SecretService
from keyring.compat import properties
from secretstorage.exceptions import SecretStorageException

from engine.errors import InvalidInput, SecretStoreError
from engine.fsutil import atomic_write, fsync_dir
from engine.names import validate_namespace
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
_MAGIC = b"SHEPSEC1"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_STORE_FORMAT = 1
_MAX_STORE_BYTES = 1 << 20


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


# --- the encrypted file backend -------------------------------------------------------------


def _check_private_file(path: Path, what: str) -> None:
    """Refuse a symlink, a non-file, another owner, or any group/other permission."""
    try:
        info = path.lstat()
    except OSError as e:
        raise SecretStoreError(f"cannot read the secret {what} {str(path)!r}: {e}") from e
    if not stat.S_ISREG(info.st_mode):
        raise SecretStoreError(f"refusing the secret {what} {str(path)!r}: not a regular file")
    if info.st_uid != os.geteuid():
        raise SecretStoreError(
            f"refusing the secret {what} {str(path)!r}: owned by uid {info.st_uid}, "
            f"not by this process (uid {os.geteuid()})"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SecretStoreError(
            f"refusing the secret {what} {str(path)!r}: mode {mode:04o} lets group/others "
            f"read or write it; it must be 0600 (chmod 600 {path})"
        )


def _check_private_dir(path: Path) -> None:
    info = path.lstat()
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or mode & 0o077:
        raise SecretStoreError(
            f"refusing the secret store directory {str(path)!r}: it must be a directory owned "
            f"by uid {os.geteuid()} with mode 0700 (it is {mode:04o}, uid {info.st_uid})"
        )


class EncryptedFileKeyring(KeyringBackend):
    """A keyring backend storing passwords in one AES-256-GCM encrypted file.

    The store is ``MAGIC || nonce || AESGCM(key).encrypt(nonce, json, MAGIC)``; the key is a
    base64 line in ``key_path`` (default: ``key`` beside the store), created on first write.
    Never selected by keyring's implicit chain (``priority`` raises): use it explicitly.
    """

    _lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store_path: Path, key_path: Path | None = None) -> None:
        # KeyringBackend.__init__ only copies KEYRING_PROPERTY_* environment variables onto
        # the instance; the paths of a root-only store must not come from the environment.
        self.store_path = store_path
        self.key_path = key_path if key_path is not None else store_path.parent / "key"

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("agent-shepherd's file keyring is only used when chosen explicitly")

    # keyring API

    def get_password(self, service: str, username: str) -> str | None:
        with self._locked(exclusive=False):
            return self._read().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked(exclusive=True):
            entries = self._read()
            entries.setdefault(service, {})[username] = password
            self._write(entries)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked(exclusive=True):
            entries = self._read()
            if username not in entries.get(service, {}):
                raise keyring.errors.PasswordDeleteError(f"no secret {username!r} is stored")
            del entries[service][username]
            if not entries[service]:
                del entries[service]
            self._write(entries)

    # internals

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        directory = self.store_path.parent
        if not directory.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # racing readers
        _check_private_dir(directory)
        lock_path = directory / f".{self.store_path.name}.lock"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        with self._lock:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
                yield
            finally:
                os.close(fd)

    def _load_key(self, *, create: bool) -> bytes | None:
        if not self.key_path.exists() and not self.key_path.is_symlink():
            if not create:
                return None
            return self._create_key()
        _check_private_file(self.key_path, "key file")
        try:
            raw = base64.b64decode(self.key_path.read_bytes().strip(), validate=True)
        except (ValueError, OSError) as e:
            raise SecretStoreError(
                f"the secret key file {str(self.key_path)!r} is unreadable"
            ) from e
        if len(raw) != _KEY_BYTES:
            raise SecretStoreError(
                f"the secret key file {str(self.key_path)!r} does not hold a 256-bit key"
            )
        return raw

    def _create_key(self) -> bytes:
        key = AESGCM.generate_key(bit_length=_KEY_BYTES * 8)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(self.key_path, flags, 0o600)
        except FileExistsError:
            loaded = self._load_key(create=False)
            assert loaded is not None  # noqa: S101 - it exists: we just lost a race for it
            return loaded
        with os.fdopen(fd, "wb") as stream:
            stream.write(base64.b64encode(key) + b"\n")
            stream.flush()
            os.fsync(stream.fileno())
        fsync_dir(self.key_path.parent)
        return key

    def _read(self) -> dict[str, dict[str, str]]:
        if not self.store_path.exists() and not self.store_path.is_symlink():
            return {}
        _check_private_file(self.store_path, "store")
        key = self._load_key(create=False)
        if key is None:
            raise SecretStoreError(
                f"the secret store {str(self.store_path)!r} exists but its key file "
                f"{str(self.key_path)!r} is missing: the secrets cannot be decrypted; "
                "delete the store and set the secrets again"
            )
        data = self.store_path.read_bytes()[: _MAX_STORE_BYTES + 1]
        corrupted = SecretStoreError(
            f"the secret store {str(self.store_path)!r} is corrupted or was encrypted with "
            "another key; delete it and set the secrets again"
        )
        if len(data) > _MAX_STORE_BYTES or not data.startswith(_MAGIC):
            raise corrupted
        nonce = data[len(_MAGIC) : len(_MAGIC) + _NONCE_BYTES]
        try:
            plain = AESGCM(key).decrypt(nonce, data[len(_MAGIC) + _NONCE_BYTES :], _MAGIC)
            document = json.loads(plain)
        except (InvalidTag, ValueError) as e:
            raise corrupted from e
        entries = document.get("entries") if isinstance(document, dict) else None
        if document.get("format") != _STORE_FORMAT or not _is_entries(entries):
            raise corrupted
        return entries  # type: ignore[return-value]

    def _write(self, entries: dict[str, dict[str, str]]) -> None:
        key = self._load_key(create=True)
        assert key is not None  # noqa: S101 - create=True always returns a key
        plain = json.dumps({"format": _STORE_FORMAT, "entries": entries}, sort_keys=True)
        nonce = _random.token_bytes(_NONCE_BYTES)
        sealed = _MAGIC + nonce + AESGCM(key).encrypt(nonce, plain.encode(), _MAGIC)
        atomic_write(self.store_path, sealed, mode=0o600)


def _is_entries(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(service, str)
        and isinstance(users, dict)
        and all(isinstance(u, str) and isinstance(p, str) for u, p in users.items())
        for service, users in value.items()
    )


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
