"""``EncryptedFileKeyring``: the keyring backend of a headless root daemon.

One AES-256-GCM encrypted file, its key in a separate file created on first use, both 0600
and owned by the daemon's user, in a 0700 directory. Files with group/other permissions,
another owner or a symlink are refused; a corrupted store (or one encrypted under another
key) is a clear error, never "no secret". Writes are atomic.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets as _random
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import keyring.errors
from keyring.backend import KeyringBackend
from keyring.compat import properties

from engine.errors import SecretStoreError
from engine.fsutil import atomic_write, fsync_dir

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["EncryptedFileKeyring"]

_MAGIC = b"SHEPSEC1"
_NONCE_BYTES = 12
_KEY_BYTES = 32
_STORE_FORMAT = 1
_MAX_STORE_BYTES = 1 << 20


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
        key = _random.token_bytes(_KEY_BYTES)  # what AESGCM.generate_key does
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
        InvalidTag, AESGCM = _cipher()
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
        _, AESGCM = _cipher()
        sealed = _MAGIC + nonce + AESGCM(key).encrypt(nonce, plain.encode(), _MAGIC)
        atomic_write(self.store_path, sealed, mode=0o600)


def _is_entries(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(service, str)
        and isinstance(users, dict)
        and all(isinstance(u, str) and isinstance(p, str) for u, p in users.items())
        for service, users in value.items()
    )


def _cipher() -> tuple[type[Exception], type[AESGCM]]:
    """cryptography, imported when a store is read or written (~7 MB resident): a daemon
    with no secrets stored never loads it."""
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415 - loaded on use
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: PLC0415 - loaded on use

    return InvalidTag, AESGCM
