"""Agent artifacts: where they are, their checksums, and a verified, resumable download.

    url = artifact_url(revision, base_url=None)            # PROTOCOL §3.1
    digest = fetch_checksum(client, url)                    # <url>.sha256, first 64 hex chars
    path = download_verified(client, url, temp_dir, digest, progress=show)

The download streams to ``<name>.part`` in ``temp_dir`` (on the install filesystem) while
hashing; an interrupted download resumes with ``Range`` + ``If-Range`` (the ETag is kept
beside the part file); the digest is compared before the file is handed back, so nothing
unverified is ever extracted. Every download is bounded (``DownloadLimits``): its size, its
total time and its rate (averaged over a window); one refused at the size limit leaves no
part file, and part files that are stale or for another target are deleted first.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from engine.errors import ArtifactError, BadAnswer, InvalidInput, NoSpace
from engine.install.sink import HashingSink
from engine.sources.transport import describe_error, get_bounded, open_stream
from engine.versions import Revision

__all__ = [
    "DEFAULT_BASE_URL",
    "DownloadLimits",
    "Progress",
    "artifact_url",
    "check_free_space",
    "download_verified",
    "fetch_checksum",
    "go_arch",
    "parse_rate",
]

DEFAULT_BASE_URL = "https://cdn.teleport.dev"
SPACE_MARGIN = 10 * 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}")
_GO_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm",
    "armv6l": "arm",
    "i386": "386",
    "i686": "386",
}


@dataclass(frozen=True)
class DownloadLimits:
    """The bounds of one artifact download."""

    max_bytes: int = 2 << 30
    total_seconds: float = 30 * 60  # from the request to the last byte
    min_rate_bps: float = 10 * 1024  # averaged over rate_window_seconds; 0: no minimum
    rate_window_seconds: float = 60.0
    stale_partial_seconds: float = 24 * 3600  # an older part file is not resumed


_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(|k|ki|kb|kib|m|mi|mb|mib)(?:/s)?\s*$", re.IGNORECASE)
_RATE_UNITS = {"": 1, "k": 1024, "ki": 1024, "kb": 1000, "kib": 1024}
_RATE_UNITS |= {"m": 1 << 20, "mi": 1 << 20, "mb": 1000**2, "mib": 1 << 20}


def parse_rate(text: str) -> float:
    """Bytes per second from ``10KiB/s``, ``1MiB/s``, ``500kB/s``, ``2048`` or ``0`` (none).

    Raises:
        InvalidInput: anything else, naming it.
    """
    match = _RATE.match(text)
    if match is None:
        raise InvalidInput(f"{text!r} is not a rate such as 10KiB/s, 1MiB/s or 0 (no minimum)")
    return float(match[1]) * _RATE_UNITS[match[2].lower()]


@dataclass(frozen=True)
class Progress:
    bytes_done: int
    bytes_total: int | None
    rate_bps: float
    eta_seconds: float | None


def go_arch(machine: str | None = None) -> str:
    name = machine or os.uname().machine
    arch = _GO_ARCH.get(name.lower())
    if arch is None:
        raise ArtifactError(f"no Teleport builds for this machine architecture {name!r}")
    return arch


def artifact_url(
    revision: Revision, *, base_url: str | None = None, arch: str | None = None
) -> str:
    """``{base}/teleport{-ent}-v{version}-linux-{arch}{-fips}-bin.tar.gz``.

    Raises:
        InvalidInput: a custom base URL that is not https (it "must use TLS").
    """
    base = (base_url or DEFAULT_BASE_URL).rstrip("/")
    if not base.startswith("https://") or not urlsplit(base).hostname:
        raise InvalidInput(f"download base URL {base_url!r} must use TLS (https://host/...)")
    ent = "-ent" if revision.enterprise else ""
    fips = "-fips" if revision.fips else ""
    return f"{base}/teleport{ent}-v{revision.version}-linux-{arch or go_arch()}{fips}-bin.tar.gz"


def fetch_checksum(client: httpx.Client, url: str, *, headers: dict[str, str] | None = None) -> str:
    """The artifact's SHA-256 from ``<url>.sha256`` (its first 64 characters, hex).
    ``headers`` go with the request (a private mirror's ``Authorization``).

    Raises:
        ArtifactError: anything else came back (quoted), or the request failed.
    """
    try:
        body = get_bounded(client, url + ".sha256", max_bytes=4096, headers=headers)
    except BadAnswer as e:
        raise ArtifactError(f"cannot fetch the checksum {url}.sha256: {e}") from e
    text = body.decode("utf-8", errors="replace")
    if not _HEX64.match(text):
        raise ArtifactError(
            f"checksum file {url}.sha256 does not start with a SHA-256 hex digest: {text[:80]!r}"
        )
    return text[:64].lower()


def check_free_space(path: Path, needed_bytes: int) -> None:
    """Raise ArtifactError naming ``path`` when it has less than ``needed_bytes`` free."""
    probe = path
    while not probe.exists():
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed_bytes:
        raise NoSpace(
            f"not enough disk space in {path}: need {_mb(needed_bytes)}, have {_mb(free)}"
        )


def _mb(size: int) -> str:
    return f"{size / 1048576:.1f} MB"


def _hash_prefix(path: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        while block := stream.read(1 << 20):
            digest.update(block)
            size += len(block)
    return digest, size


def download_verified(
    client: httpx.Client,
    url: str,
    dest_dir: Path,
    expected_sha256: str,
    *,
    progress: Callable[[Progress], None] | None = None,
    max_bytes: int | None = None,
    headers: dict[str, str] | None = None,
    limits: DownloadLimits | None = None,
) -> Path:
    """Download ``url`` into ``dest_dir``, verify its SHA-256, return the verified file.
    ``max_bytes``, when given, overrides ``limits.max_bytes``.

    Raises:
        ArtifactError: bad status, too large (partial file removed), checksum mismatch
            (file removed), disk full (partial file removed), too slow or past the total
            deadline (naming the host and the rate seen), or a broken transfer (partial
            file kept to resume).
        TransportError: the server could not be reached.
    """
    limits = limits or DownloadLimits()
    if max_bytes is not None:
        limits = replace(limits, max_bytes=max_bytes)
    expected = expected_sha256.lower()
    name = Path(urlsplit(url).path).name or "artifact.tar.gz"
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / name
    part = dest_dir / f"{name}.part"
    etag_file = dest_dir / f"{name}.part.etag"
    _delete_stale_partials(dest_dir, keep=part, older_than=limits.stale_partial_seconds)
    digest, offset, request_headers = _resume_point(part, etag_file, headers)

    try:
        with open_stream(client, url, headers=request_headers) as response:
            if response.status_code == 206:
                mode = "ab"
            elif response.status_code in {200, 416}:
                if response.status_code == 416:
                    response.close()
                    _discard(part, etag_file)
                    return download_verified(
                        client,
                        url,
                        dest_dir,
                        expected,
                        progress=progress,
                        headers=headers,
                        limits=limits,
                    )
                digest, offset, mode = hashlib.sha256(), 0, "wb"
            else:
                raise ArtifactError(f"download of {url} failed: HTTP {response.status_code}")
            try:
                total = _expected_total(response, offset, limits.max_bytes, url)
            except ArtifactError:
                _discard(part, etag_file)
                raise
            if response.headers.get("etag"):
                etag_file.write_text(response.headers["etag"])
            # without a Content-Length the body may be as large as the limit
            needed = (total if total is not None else limits.max_bytes) - offset
            check_free_space(dest_dir, needed + SPACE_MARGIN)
            done = _stream_to(response, part, mode, digest, offset, total, url, progress, limits)
    except _TooLarge as e:
        _discard(part, etag_file)
        raise ArtifactError(str(e)) from None
    except OSError as e:
        if e.errno in {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}:
            _discard(part, etag_file)
            raise NoSpace(f"not enough space in {dest_dir} to download {name}: {e}") from e
        raise ArtifactError(f"cannot write the download to {dest_dir}: {e}") from e

    if total is not None and done != total:
        raise ArtifactError(
            f"download of {url} ended early: got {done} of {total} bytes (will resume)"
        )
    actual = digest.hexdigest()
    if actual != expected:
        _discard(part, etag_file)
        raise ArtifactError(
            f"checksum mismatch for {name}: expected {expected}, got {actual}; file discarded"
        )
    part.replace(final)
    etag_file.unlink(missing_ok=True)
    return final


def _resume_point(
    part: Path, etag_file: Path, headers: dict[str, str] | None
) -> tuple[hashlib._Hash, int, dict[str, str]]:
    """(the hash so far, the offset to resume from, the request headers to send)."""
    digest, offset = _hash_prefix(part) if part.exists() else (hashlib.sha256(), 0)
    request_headers = dict(headers or {})
    etag = etag_file.read_text().strip() if etag_file.exists() and offset else ""
    if offset and etag:
        request_headers["Range"] = f"bytes={offset}-"
        request_headers["If-Range"] = etag
        return digest, offset, request_headers
    return hashlib.sha256(), 0, request_headers


def _expected_total(response: httpx.Response, offset: int, max_bytes: int, url: str) -> int | None:
    length = response.headers.get("content-length")
    if length is None or not length.isdigit():
        return None
    total = offset + int(length)
    if total > max_bytes:
        raise ArtifactError(f"{url} is too large: {total} bytes (limit {max_bytes})")
    return total


def _stream_to(
    response: httpx.Response,
    part: Path,
    mode: str,
    digest: hashlib._Hash,
    offset: int,
    total: int | None,
    url: str,
    progress: Callable[[Progress], None] | None,
    limits: DownloadLimits,
) -> int:
    done = offset
    started = time.monotonic()
    last_report = 0.0
    pace = _Pace(url, limits, started)
    try:
        with part.open(mode) as stream:
            with HashingSink(stream, digest) as sink:
                for chunk in response.iter_raw():  # as received; HashingSink batches
                    done += len(chunk)
                    if done > limits.max_bytes:
                        raise _TooLarge(
                            f"{url} is larger than the limit of {limits.max_bytes} bytes; "
                            "the partial download was discarded"
                        )
                    sink.put(chunk)
                    now = time.monotonic()
                    pace.check(done - offset, now)
                    if progress is not None and now - last_report >= 0.2:
                        last_report = now
                        progress(_progress(done, offset, total, now - started))
            stream.flush()
            os.fsync(stream.fileno())
    except httpx.HTTPError as e:
        raise ArtifactError(
            f"download of {url} broke off after {done} bytes: {describe_error(e, url)} "
            "(the next attempt resumes)"
        ) from e
    if progress is not None:
        progress(_progress(done, offset, total, time.monotonic() - started))
    return done


def _progress(done: int, offset: int, total: int | None, elapsed: float) -> Progress:
    rate = (done - offset) / elapsed if elapsed > 0 else 0.0
    eta = (total - done) / rate if total is not None and rate > 0 else None
    return Progress(done, total, rate, eta)


class _TooLarge(Exception):
    pass


class _Pace:
    """The total deadline and the minimum rate, averaged over a sliding window."""

    def __init__(self, url: str, limits: DownloadLimits, started: float) -> None:
        self.host = urlsplit(url).hostname or url
        self.limits = limits
        self.started = started
        self.samples: deque[tuple[float, int]] = deque([(started, 0)])

    def check(self, received: int, now: float) -> None:
        limits = self.limits
        if now - self.started > limits.total_seconds:
            rate = received / (now - self.started)
            raise ArtifactError(
                f"the download from {self.host} did not finish within "
                f"{limits.total_seconds:g} s (received {_mb(received)} at {_rate(rate)}); "
                "the next attempt resumes"
            )
        self.samples.append((now, received))
        window = limits.rate_window_seconds
        while len(self.samples) > 1 and now - self.samples[1][0] >= window:
            self.samples.popleft()
        since, then = self.samples[0]
        if limits.min_rate_bps > 0 and now - since >= window:
            rate = (received - then) / (now - since)
            if rate < limits.min_rate_bps:
                raise ArtifactError(
                    f"the download from {self.host} is too slow: {_rate(rate)} over the last "
                    f"{now - since:.0f} s, below the minimum of {_rate(limits.min_rate_bps)}; "
                    "the next attempt resumes"
                )


def _rate(bps: float) -> str:
    return f"{bps / 1024:.1f} KiB/s"


def _delete_stale_partials(dest_dir: Path, *, keep: Path, older_than: float) -> None:
    """Part files (and their ETags) for another target, or older than ``older_than`` s."""
    now = time.time()
    for path in dest_dir.iterdir():
        if not (path.name.endswith(".part") or path.name.endswith(".part.etag")):
            continue
        ours = path.name in (keep.name, f"{keep.name}.etag")
        with contextlib.suppress(FileNotFoundError):
            if not ours or now - path.stat().st_mtime > older_than:
                path.unlink()


def _discard(*paths: Path) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
