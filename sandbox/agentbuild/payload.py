"""ELF-like, compressible payloads the size of a real Teleport release.

A real ``teleport-v17-linux-amd64-bin.tar.gz`` unpacks to a few Go executables of tens of
MB each that gzip to about 35-40 %: machine code (a skewed vocabulary of short
instructions), symbol and string tables (package paths, identifiers), and some
incompressible data (compressed debug sections, hashes). Random padding hides work that
scales with the unpacked size (it does not compress, so a tool that decompresses twice
looks no slower); these payloads do not.

Each payload starts with an ELF64 header and then cycles through a pool of distinct 64 KiB
blocks in a seeded order. gzip's window is 32 KiB, so the repetition of the pool is
invisible to it: the ratio and the decompression speed are those of the local structure.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

__all__ = ["REAL_SHARES", "elf_like_chunks"]

BLOCK = 64 * 1024
POOL_BLOCKS = 64
# How a release's unpacked size is shared among its helper executables (``teleport`` itself
# stays the runnable sandbox script).
REAL_SHARES = {
    "tctl": 0.38,
    "tsh": 0.34,
    "tbot": 0.22,
    "teleport-update": 0.04,
    "fdpass-teleport": 0.02,
}
_PACKAGES = (
    "github.com/gravitational/teleport/lib/auth",
    "github.com/gravitational/teleport/lib/srv/regular",
    "github.com/gravitational/teleport/lib/reversetunnel",
    "github.com/gravitational/teleport/api/client/proto",
    "google.golang.org/grpc/internal/transport",
    "golang.org/x/crypto/ssh",
    "k8s.io/client-go/tools/cache",
    "github.com/aws/aws-sdk-go-v2/service/ec2/types",
    "runtime",
    "crypto/tls",
    "encoding/json",
    "net/http",
)
_WORDS = (
    "Server",
    "Client",
    "Handler",
    "Config",
    "Session",
    "Request",
    "Response",
    "Watcher",
    "Cache",
    "Stream",
    "Token",
    "Cert",
    "Role",
    "User",
    "Node",
    "Cluster",
    "Proxy",
    "Agent",
    "Marshal",
    "Unmarshal",
    "Close",
    "Serve",
    "Dial",
    "Check",
    "Validate",
    "Get",
    "Set",
)


def _elf_header(size: int) -> bytes:
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, SysV
    return ident + struct.pack(
        "<HHIQQQIHHHHHH",
        2,
        0x3E,
        1,
        0x401000,
        64,
        max(size - 4096, 64),
        0,
        64,
        56,
        9,
        64,
        36,
        35,
    )


def _code_block(rng: random.Random, vocabulary: list[bytes], weights: list[float]) -> bytes:
    out = bytearray()
    while len(out) < BLOCK:
        out += b"".join(rng.choices(vocabulary, weights, k=2048))
    return bytes(out[:BLOCK])


def _symbol_block(rng: random.Random) -> bytes:
    out = bytearray()
    while len(out) < BLOCK:
        name = ".".join(
            (rng.choice(_PACKAGES), "(*" + rng.choice(_WORDS) + rng.choice(_WORDS) + ")")
        )
        out += f"{name}.{rng.choice(_WORDS)}{rng.randrange(40)}\0".encode()
        if rng.random() < 0.3:
            out += struct.pack("<QQ", rng.randrange(1 << 32), rng.randrange(1 << 20))
    return bytes(out[:BLOCK])


def _pool(seed: int) -> list[bytes]:
    rng = random.Random(seed)
    vocabulary = [rng.randbytes(rng.choice((1, 2, 3, 3, 4, 5, 5, 6, 7))) for _ in range(6000)]
    weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(vocabulary))]
    pool = []
    for index in range(POOL_BLOCKS):
        kind = index % 8
        if kind < 5:
            pool.append(_code_block(rng, vocabulary, weights))
        elif kind < 7:
            pool.append(_symbol_block(rng))
        else:  # compressed debug info, hashes: incompressible
            pool.append(rng.randbytes(BLOCK // 2) + bytes(BLOCK // 2))
    return pool


def elf_like_chunks(size: int, seed: int = 17) -> Iterator[bytes]:
    """``size`` bytes of ELF-like content, in chunks of at most 64 KiB."""
    pool = _pool(seed)
    order = random.Random(seed + size)
    header = _elf_header(size)[:size]
    yield header
    remaining = size - len(header)
    while remaining > 0:
        block = pool[order.randrange(POOL_BLOCKS)][: min(BLOCK, remaining)]
        remaining -= len(block)
        yield block
