"""Writing and hashing a download on a thread of its own, beside the thread that receives it.

    with HashingSink(stream, digest) as sink:      # stream: a file open for writing
        for chunk in response.iter_raw():
            sink.put(chunk)                          # raises the writer's OSError, if any
    # leaving the block writes what is left and waits; the digest covers every chunk

Receiving (TLS and HTTP framing in Python) holds the GIL; ``hashlib`` and file writes of
large blocks release it, so on a second core they overlap the receiving instead of adding
to it. Chunks go to the writer in batches of ``batch_bytes`` (TLS delivers 16 KiB at a
time); at most ``depth`` batches wait, so memory stays flat whatever the file's size.
Leaving the block, even by an exception, writes every chunk already put, so a transfer that
breaks off keeps all it received for the resume.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from types import TracebackType
from typing import IO

__all__ = ["HashingSink"]


class HashingSink:
    """Writes each chunk to ``stream`` and adds it to ``digest``, in order, on a thread."""

    def __init__(
        self,
        stream: IO[bytes],
        digest: hashlib._Hash,
        *,
        batch_bytes: int = 256 * 1024,
        depth: int = 8,
    ) -> None:
        self._stream = stream
        self._digest = digest
        self._batch_bytes = batch_bytes
        self._batch: list[bytes] = []
        self._batched = 0
        self._batches: queue.Queue[list[bytes] | None] = queue.Queue(maxsize=depth)
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, name="download-writer", daemon=True)

    def __enter__(self) -> HashingSink:
        self._thread.start()
        return self

    def put(self, chunk: bytes) -> None:
        """Queue ``chunk`` for writing (blocks while ``depth`` batches wait). Raises what an
        earlier write failed with (an OSError such as ENOSPC)."""
        if self._error is not None:
            raise self._error
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= self._batch_bytes:
            self._send()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._send()
        self._batches.put(None)
        self._thread.join()
        if exc is None and self._error is not None:
            raise self._error

    def _send(self) -> None:
        if self._batch:
            self._batches.put(self._batch)
            self._batch, self._batched = [], 0

    def _run(self) -> None:
        while (batch := self._batches.get()) is not None:
            if self._error is not None:
                continue  # drain: the receiving side raises on its next put
            block = b"".join(batch)
            try:
                self._stream.write(block)
                self._digest.update(block)
            except Exception as e:  # handed to the receiving thread
                self._error = e
