"""Benchmark: Shepherd's download + SHA-256 verify vs `curl | sha256sum`, and peak memory.

Both fetch the same incompressible file from the same local nginx over TLS (the sandbox CDN),
alternating, and the medians are compared: ratio = Shepherd throughput / curl throughput
(target >= 0.9). Then Shepherd's peak RSS is measured in a fresh process for a 100 MB and a
1 GB file (target < 64 MB and within 10 % of each other: memory must not grow with size).

    .venv/bin/python bench/download_verify.py [--size-mb 200] [--runs 3] [--skip-rss]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure  # noqa: E402
from engine.install.download import download_verified  # noqa: E402
from engine.sources.transport import TransportConfig, make_client  # noqa: E402
from sandbox.cdn import Cdn  # noqa: E402
from sandbox.certs import SandboxCA  # noqa: E402

CHILD = """
import resource, sys
from pathlib import Path
from engine.install.download import download_verified
from engine.sources.transport import TransportConfig, make_client
client = make_client(TransportConfig(ca_bundle=Path(sys.argv[1]), trust_env=False))
download_verified(client, sys.argv[2], Path(sys.argv[3]), sys.argv[4], max_bytes=4 << 30)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def random_file(path: Path, size: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as stream:
        remaining = size
        while remaining:
            block = os.urandom(min(remaining, 4 << 20))
            stream.write(block)
            digest.update(block)
            remaining -= len(block)
    return digest.hexdigest()


def time_shepherd(ca: Path, url: str, digest: str, work: Path) -> float:
    with make_client(TransportConfig(ca_bundle=ca, trust_env=False)) as client:
        start = time.perf_counter()
        path = download_verified(client, url, work, digest, max_bytes=4 << 30)
        elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


def time_curl(ca: Path, url: str, digest: str, work: Path) -> float:
    out = work / "curl.out"
    start = time.perf_counter()
    result = subprocess.run(  # noqa: S602 - the baseline is literally this pipeline
        f"curl -s --cacert {ca} {url} | tee {out} | sha256sum",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - start
    assert result.stdout.split()[0] == digest, "curl baseline fetched the wrong bytes"
    out.unlink()
    return elapsed


def time_curl_o(ca: Path, url: str, work: Path) -> float:
    """``curl -o``: the download alone, no hashing (what the issue's target compares with)."""
    out = work / "curl-o.out"
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "--cacert", str(ca), "-o", str(out), url], check=True)
    elapsed = time.perf_counter() - start
    out.unlink()
    return elapsed


def throughputs(size_mb: int = 200, runs: int = 3) -> dict[str, float]:
    """MB/s of Shepherd, ``curl -o`` and ``curl | tee | sha256sum``, alternating, medians."""
    with tempfile.TemporaryDirectory(prefix="shepherd-bench-") as tmp:
        base = Path(tmp)
        ca = SandboxCA.create(base / "ca")
        root = base / "root"
        root.mkdir()
        digest = random_file(root / "artifact.bin", size_mb << 20)
        work = base / "work"
        work.mkdir()
        with Cdn(root, ca.server_pair(), workdir=base / "nginx") as cdn:
            url = cdn.url("artifact.bin")
            times: dict[str, list[float]] = {"shepherd": [], "curl -o": [], "curl|sha256": []}
            for _ in range(runs):
                times["curl -o"].append(time_curl_o(ca.ca_path, url, work))
                times["curl|sha256"].append(time_curl(ca.ca_path, url, digest, work))
                times["shepherd"].append(time_shepherd(ca.ca_path, url, digest, work))
    return {name: size_mb / statistics.median(values) for name, values in times.items()}


def figures(size_mb: int = 200, runs: int = 3) -> list[Figure]:
    rates = throughputs(size_mb, runs)
    ours = rates["shepherd"]
    return [
        Figure(
            f"download + verify, {size_mb} MB over TLS (median of {runs})",
            f"{ours:.0f} MB/s",
            f"curl -o {rates['curl -o']:.0f} MB/s",
            ours / rates["curl -o"],
            ">= 0.9x curl -o",
            ours / rates["curl -o"] >= 0.9,
        ),
        Figure(
            "download + verify vs the curl, tee, sha256sum pipeline",
            f"{ours:.0f} MB/s",
            f"pipeline {rates['curl|sha256']:.0f} MB/s",
            ours / rates["curl|sha256"],
            "—",
            None,
        ),
    ]


def peak_rss_mb(ca: Path, url: str, digest: str, work: Path) -> float:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(ca), url, str(work), digest],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    for leftover in work.iterdir():
        leftover.unlink()
    return int(result.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-rss", action="store_true")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        sys.exit("curl is needed for the baseline")
    with tempfile.TemporaryDirectory(prefix="shepherd-bench-") as tmp:
        base = Path(tmp)
        ca = SandboxCA.create(base / "ca")
        root = base / "root"
        root.mkdir()
        size = args.size_mb << 20
        digest = random_file(root / "artifact.bin", size)
        work = base / "work"
        work.mkdir()
        with Cdn(root, ca.server_pair(), workdir=base / "nginx") as cdn:
            url = cdn.url("artifact.bin")
            ours, theirs = [], []
            for _ in range(args.runs):
                theirs.append(time_curl(ca.ca_path, url, digest, work))
                ours.append(time_shepherd(ca.ca_path, url, digest, work))
            ours_mbps = args.size_mb / statistics.median(ours)
            curl_mbps = args.size_mb / statistics.median(theirs)
            print(
                f"download+verify of {args.size_mb} MB over TLS from local nginx, "
                f"median of {args.runs}:"
            )
            print(f"  curl | tee | sha256sum : {curl_mbps:7.1f} MB/s")
            print(f"  shepherd               : {ours_mbps:7.1f} MB/s")
            print(f"  ratio shepherd/curl    : {ours_mbps / curl_mbps:.2f}  (target >= 0.90)")
            if args.skip_rss:
                return
            rss = {}
            for mb in (100, 1024):
                (root / "artifact.bin").unlink()
                sized = random_file(root / "artifact.bin", mb << 20)
                rss[mb] = peak_rss_mb(ca.ca_path, url, sized, work)
            print("peak RSS of a fresh process downloading + verifying:")
            print(f"  100 MB : {rss[100]:.1f} MB")
            print(f"  1 GB   : {rss[1024]:.1f} MB")
            print(
                f"  ratio 1 GB / 100 MB: {rss[1024] / rss[100]:.2f}  (target <= 1.10, both < 64 MB)"
            )


if __name__ == "__main__":
    main()
