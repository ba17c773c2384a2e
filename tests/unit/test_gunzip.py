"""The threaded gunzip reader that extraction reads through: what gzip reads, it reads; what
gzip refuses, it refuses; memory stays bounded on a bomb; closing early stops its thread."""

from __future__ import annotations

import gzip
import io
import os
import threading
import zlib
from pathlib import Path

import pytest

from engine.install.gunzip import GunzipReader


def test_it_reads_what_gzip_reads_including_concatenated_members(tmp_path: Path) -> None:
    first, second = os.urandom(300_000), b"teleport " * 200_000
    path = tmp_path / "two.gz"
    path.write_bytes(gzip.compress(first) + gzip.compress(second) + bytes(100))
    with GunzipReader(path, chunk=64 * 1024) as stream:
        assert stream.read() == gzip.decompress(path.read_bytes()) == first + second


def test_reads_seeks_and_tells_forward(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000
    path = tmp_path / "data.gz"
    path.write_bytes(gzip.compress(data))
    with GunzipReader(path, chunk=4096) as stream:
        assert stream.read(10) == data[:10]
        assert stream.seek(100_000) == 100_000
        block = stream.read1(50_000)
        assert 0 < len(block) <= 4096
        assert block == data[100_000 : 100_000 + len(block)]
        with pytest.raises(io.UnsupportedOperation):
            stream.seek(0)
        position = stream.tell()
        assert position == 100_000 + len(block)
        assert stream.read() == data[position:]


@pytest.mark.parametrize(
    ("damage", "error"),
    [
        (lambda raw: raw[: len(raw) // 2], EOFError),
        (lambda raw: raw[:-8] + bytes(a ^ 0xFF for a in raw[-8:-4]) + raw[-4:], zlib.error),
        (lambda raw: b"not gzip at all" + raw, zlib.error),
        (lambda raw: b"", EOFError),
    ],
    ids=["truncated stream", "wrong CRC in the trailer", "not gzip", "empty file"],
)
def test_a_damaged_stream_raises_to_the_reader(
    tmp_path: Path, damage: object, error: type[Exception]
) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(damage(gzip.compress(os.urandom(200_000))))  # type: ignore[operator]
    with GunzipReader(path) as stream, pytest.raises(error):
        stream.read()


def test_a_bomb_comes_out_in_bounded_chunks(tmp_path: Path) -> None:
    path = tmp_path / "bomb.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    with path.open("wb") as out:
        zeros = bytes(1 << 20)
        for _ in range(256):  # 256 MiB of zeros in about 250 KiB
            out.write(compressor.compress(zeros))
        out.write(compressor.flush())
    assert path.stat().st_size < 1 << 20
    with GunzipReader(path, chunk=1 << 20, depth=4) as stream:
        largest = total = 0
        while block := stream.read1():
            largest, total = max(largest, len(block)), total + len(block)
    assert largest <= 1 << 20
    assert total == 256 << 20


def test_closing_early_stops_the_producer_thread(tmp_path: Path) -> None:
    path = tmp_path / "big.gz"
    path.write_bytes(gzip.compress(os.urandom(4 << 20), compresslevel=1))
    stream = GunzipReader(path, chunk=64 * 1024, depth=2)
    assert stream.read(10)
    stream.close()
    assert not any(t.name == "gunzip" and t.is_alive() for t in threading.enumerate())
