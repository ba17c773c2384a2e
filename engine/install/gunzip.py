"""A forward-only reader of a ``.gz`` file that decompresses in a thread of its own.

    with GunzipReader(path) as stream:
        with tarfile.open(fileobj=stream, mode="r:") as tar: ...

Extraction is decompression plus writing; ``tar -xzf`` overlaps the two in two processes
(gzip and tar). This does the same in one: a producer thread inflates the file (zlib
releases the GIL while it inflates) into a short queue of chunks while the caller parses
and writes. Memory stays bounded whatever the archive: each inflate call returns at most
``chunk`` bytes (a decompression bomb cannot balloon a chunk) and the queue holds at most
``depth`` chunks. Concatenated gzip members are read like ``gzip`` does; a CRC or length
mismatch in a trailer, a bad header or a truncated stream raises ``zlib.error`` or
``EOFError`` to the reader. ``seek`` only moves forward (it reads and drops), which is all
a sequential ``tarfile`` pass needs.
"""

from __future__ import annotations

import io
import queue
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

__all__ = ["GunzipReader"]

_READ_BYTES = 256 * 1024
_GZIP_WBITS = 31  # a gzip header and trailer around deflate data
_PUT_POLL_SECONDS = 0.1  # how soon a stopped reader frees its producer


def _inflate(stream: BinaryIO, chunk: int) -> Iterator[bytes]:
    decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)
    pending = b""
    started = False
    output_full = False
    while True:
        if not pending and not output_full:
            pending = stream.read(_READ_BYTES)
            if not pending:
                if not started or not decompressor.eof:
                    raise EOFError("the gzip stream ends before its end-of-stream marker")
                return
        if decompressor.eof:
            if not pending.strip(b"\0"):  # zero padding after the last member, as gzip allows
                pending = b""
                continue
            decompressor = zlib.decompressobj(wbits=_GZIP_WBITS)  # the next member
        started = True
        out = decompressor.decompress(pending, chunk)
        pending = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail
        output_full = len(out) == chunk and not decompressor.eof
        if out:
            yield out


class GunzipReader(io.RawIOBase):
    """Read ``path`` decompressed, inflated ahead by a producer thread."""

    def __init__(self, path: Path, *, chunk: int = 1 << 20, depth: int = 8) -> None:
        super().__init__()
        self._file = path.open("rb")
        self._chunk = chunk
        self._queue: queue.Queue[bytes | BaseException | None] = queue.Queue(depth)
        self._stop = threading.Event()
        self._buffer = b""
        self._offset = 0  # into _buffer
        self._position = 0
        self._ended = False
        self._thread = threading.Thread(target=self._produce, name="gunzip", daemon=True)
        self._thread.start()

    def __enter__(self) -> GunzipReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _produce(self) -> None:
        try:
            for block in _inflate(self._file, self._chunk):
                if not self._put(block):
                    return
            self._put(None)
        except BaseException as e:  # handed to the reading thread, raised there
            self._put(e)

    def _put(self, item: bytes | BaseException | None) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_PUT_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False

    def _fill(self) -> bool:
        """Make the buffer non-empty; False at the end of the data."""
        while self._offset >= len(self._buffer):
            if self._ended:
                return False
            item = self._queue.get()
            if item is None:
                self._ended = True
                return False
            if isinstance(item, BaseException):
                self._ended = True
                raise item
            self._buffer, self._offset = item, 0
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while self._fill():
                parts.append(self._take(len(self._buffer)))
            return b"".join(parts)
        parts = []
        wanted = size
        while wanted > 0 and self._fill():
            part = self._take(wanted)
            wanted -= len(part)
            parts.append(part)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        """At most ``size`` bytes, from one decompressed chunk (no copy when it fits)."""
        if not self._fill():
            return b""
        return self._take(len(self._buffer) if size < 0 else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _take(self, size: int) -> bytes:
        start = self._offset
        end = min(len(self._buffer), start + size)
        self._offset = end
        self._position += end - start
        if start == 0 and end == len(self._buffer):
            return self._buffer
        return self._buffer[start:end]

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._position + offset
        if whence not in (io.SEEK_SET, io.SEEK_CUR) or target < self._position:
            raise io.UnsupportedOperation("GunzipReader seeks only forward")
        while self._position < target and self._fill():
            self._take(target - self._position)
        return self._position

    def close(self) -> None:
        if self.closed:
            return
        self._stop.set()
        self._thread.join()
        self._file.close()
        super().close()
