"""The download's writer thread: every chunk written and hashed in order, a failed write
reported to the receiving side, and nothing received lost when the transfer breaks off."""

from __future__ import annotations

import errno
import hashlib
import io
import os

import pytest

from engine.install.sink import HashingSink


def chunks(count: int) -> list[bytes]:
    return [os.urandom(16 * 1024 + i) for i in range(count)]  # TLS-record-sized, uneven


def test_every_chunk_is_written_and_hashed_in_order() -> None:
    received = chunks(200)
    out, digest = io.BytesIO(), hashlib.sha256()
    with HashingSink(out, digest, batch_bytes=100_000, depth=2) as sink:
        for chunk in received:
            sink.put(chunk)
    assert out.getvalue() == b"".join(received)
    assert digest.hexdigest() == hashlib.sha256(b"".join(received)).hexdigest()


class _DiskFull(io.BytesIO):
    def __init__(self, room: int) -> None:
        super().__init__()
        self.room = room

    def write(self, block: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(block) > self.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(block)


def test_a_failed_write_is_raised_on_the_receiving_side() -> None:
    sink = HashingSink(_DiskFull(room=300_000), hashlib.sha256(), batch_bytes=65536)
    with pytest.raises(OSError) as raised, sink:
        for chunk in chunks(100):
            sink.put(chunk)
    assert raised.value.errno == errno.ENOSPC


def test_a_transfer_that_breaks_off_keeps_everything_received() -> None:
    received = chunks(5)  # less than one batch: still only in the sink's hands
    out, digest = io.BytesIO(), hashlib.sha256()
    sink = HashingSink(out, digest)
    with pytest.raises(ConnectionError), sink:
        for chunk in received:
            sink.put(chunk)
        raise ConnectionError("the server went away")
    assert out.getvalue() == b"".join(received)
