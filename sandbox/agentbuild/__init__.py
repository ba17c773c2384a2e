"""Build agent artifacts in Teleport's layout and naming, with a real fake ``teleport``.

    artifact = build_artifact(out_dir, "17.2.1", edition="ent", behaviour=Behaviour.good())
    artifact.path        # out_dir/teleport-ent-v17.2.1-linux-amd64-bin.tar.gz
    artifact.sha256      # hex digest; out_dir/<name>.sha256 holds "<hex>  <name>\\n"

The tarball has the top dir ``teleport/`` (community) or ``teleport-ent/`` (ent, ent+fips)
holding ``teleport``, ``tctl``, ``tsh``, ``tbot``, ``fdpass-teleport``, ``teleport-update``,
``install``, ``examples/systemd/teleport.service``, ``README.md``, ``CHANGELOG.md`` and
``VERSION``, like the real release tarballs. The ``teleport`` executable is
``fake_teleport.py`` with the version and per-version behaviour baked in.

``realistic_bytes=REAL_RELEASE_BYTES`` makes the helper executables ELF-like and as large
as a real release's (``payload.py``): a compressible tarball for benchmarks. The default
builds stay small.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from sandbox.agentbuild.payload import REAL_SHARES, elf_like_chunks

__all__ = [
    "REAL_RELEASE_BYTES",
    "Artifact",
    "Behaviour",
    "artifact_name",
    "build_artifact",
    "write_agent_config",
]

Edition = Literal["community", "ent"]
HELPER_TOOLS = ("tctl", "tsh", "tbot", "fdpass-teleport", "teleport-update")
REAL_RELEASE_BYTES = 180 << 20  # about what a Teleport 17 amd64 tarball unpacks to

UNIT_TEXT = """\
[Unit]
Description=Teleport Service
After=network.target

[Service]
Type=simple
Restart=always
RestartSec=5
EnvironmentFile=-/etc/default/teleport
ExecStart=/usr/local/bin/teleport start --config /etc/teleport.yaml --pid-file=/run/teleport.pid
# systemd before 239 needs an absolute path
ExecReload=/bin/sh -c "exec pkill -HUP -L -F /run/teleport.pid"
PIDFile=/run/teleport.pid
LimitNOFILE=524288

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Behaviour:
    """How this build of the agent behaves (baked into its ``teleport`` executable)."""

    crash_at_start: bool = False
    crash_after: float | None = None  # seconds after start
    # crashes when asked /readyz for the N-th time: a crash after start (its PID has been
    # stable) that the health check is sure to be watching, however loaded the machine
    crash_at_readyz: int | None = None
    never_ready: bool = False
    ready_after: float = 0.0  # seconds until /readyz says ok
    ignore_sighup: bool = False
    no_debug_socket: bool = False  # an old agent without /readyz

    @classmethod
    def good(cls) -> Behaviour:
        return cls()

    @classmethod
    def named(cls, name: str) -> Behaviour:
        """good, crash-at-start, crash-after-N, crash-at-readyz-N, never-ready,
        slow-ready-N, ignores-sighup, no-debug-socket."""
        if name == "good":
            return cls()
        if name == "crash-at-start":
            return cls(crash_at_start=True)
        if name.startswith("crash-at-readyz-"):
            return cls(crash_at_readyz=int(name.removeprefix("crash-at-readyz-")))
        if name.startswith("crash-after-"):
            return cls(crash_after=float(name.removeprefix("crash-after-")))
        if name == "never-ready":
            return cls(never_ready=True)
        if name.startswith("slow-ready-"):
            return cls(ready_after=float(name.removeprefix("slow-ready-")))
        if name == "ignores-sighup":
            return cls(ignore_sighup=True)
        if name == "no-debug-socket":
            return cls(no_debug_socket=True)
        raise ValueError(f"unknown agent behaviour {name!r}")


@dataclass(frozen=True)
class Artifact:
    path: Path
    sha256: str
    version: str
    edition: Edition
    fips: bool

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def revision_dir(self) -> str:
        suffix = "_ent" if self.edition == "ent" else ""
        return self.version + suffix + ("_fips" if self.fips else "")


def artifact_name(version: str, edition: Edition, fips: bool = False, arch: str = "amd64") -> str:
    ent = "-ent" if edition == "ent" else ""
    return f"teleport{ent}-v{version}-linux-{arch}{'-fips' if fips else ''}-bin.tar.gz"


def teleport_script(version: str, behaviour: Behaviour, interpreter: str | None = None) -> str:
    template = resources.files(__package__).joinpath("fake_teleport.py").read_text("utf-8")
    body = template.replace('VERSION = "0.0.0"\n', f"VERSION = {version!r}\n").replace(
        "BEHAVIOUR: dict[str, Any] = {}\n", f"BEHAVIOUR: dict[str, Any] = {asdict(behaviour)!r}\n"
    )
    return f"#!{interpreter or sys.executable}\n" + body


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(time.time())
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


class _Chunks(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = next(self._chunks, b"")
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


def _random_chunks(size: int) -> Iterator[bytes]:
    while size > 0:
        count = min(size, 1 << 20)
        size -= count
        yield os.urandom(count)


def _add_stream(
    tar: tarfile.TarFile, name: str, size: int, chunks: Iterator[bytes], mode: int = 0o644
) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = mode
    info.mtime = int(time.time())
    info.uname = info.gname = "root"
    tar.addfile(info, io.BufferedReader(_Chunks(chunks), buffer_size=1 << 20))


def build_artifact(
    out_dir: Path,
    version: str,
    *,
    edition: Edition = "community",
    fips: bool = False,
    arch: str = "amd64",
    behaviour: Behaviour | None = None,
    padding_bytes: int = 0,
    realistic_bytes: int = 0,
    interpreter: str | None = None,
) -> Artifact:
    """Write the tarball and its ``.sha256`` into ``out_dir`` and return what was built.

    ``padding_bytes``: an incompressible ``padding.bin`` of that size. ``realistic_bytes``:
    the helper executables become ELF-like content of about that total size (shared like a
    real release's), compressed like a release (gzip level 3, ~40 %).
    """
    if fips and edition != "ent":
        raise ValueError("FIPS builds exist only for the Enterprise edition")
    out_dir.mkdir(parents=True, exist_ok=True)
    name = artifact_name(version, edition, fips, arch)
    top = "teleport-ent" if edition == "ent" else "teleport"
    path = out_dir / name
    temp = out_dir / f".{name}.tmp"
    with tarfile.open(temp, "w:gz", compresslevel=3 if realistic_bytes else 1) as tar:
        script = teleport_script(version, behaviour or Behaviour.good(), interpreter)
        _add(tar, f"{top}/teleport", script.encode(), 0o755)
        for tool in HELPER_TOOLS:
            if realistic_bytes:
                size = int(realistic_bytes * REAL_SHARES[tool])
                _add_stream(tar, f"{top}/{tool}", size, elf_like_chunks(size), 0o755)
                continue
            _add(tar, f"{top}/{tool}", f"#!/bin/sh\necho '{tool} v{version}'\n".encode(), 0o755)
        _add(tar, f"{top}/install", b"#!/bin/sh\necho 'use teleport-update'\n", 0o755)
        _add(tar, f"{top}/examples/systemd/teleport.service", UNIT_TEXT.encode())
        _add(tar, f"{top}/README.md", f"# Teleport {version} (sandbox build)\n".encode())
        _add(tar, f"{top}/CHANGELOG.md", f"## {version}\n\n* sandbox build\n".encode())
        _add(tar, f"{top}/VERSION", f"{version}\n".encode())
        if padding_bytes:
            _add_stream(tar, f"{top}/padding.bin", padding_bytes, _random_chunks(padding_bytes))
    digest = hashlib.sha256()
    with temp.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    temp.replace(path)
    (out_dir / f"{name}.sha256").write_text(f"{digest.hexdigest()}  {name}\n")
    return Artifact(path, digest.hexdigest(), version, edition, fips)


def write_agent_config(path: Path, data_dir: Path, *, proxy: str = "127.0.0.1:3080") -> None:
    """A minimal ``teleport.yaml`` the fake agent (and the updater) can read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "version: v3\n"
        "teleport:\n"
        f"  data_dir: {data_dir}\n"
        f"  proxy_server: {proxy}\n"
        "ssh_service:\n"
        "  enabled: true\n"
    )
