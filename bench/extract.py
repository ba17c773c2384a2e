"""Benchmark: installing a release-sized, compressible tarball vs ``tar -xzf`` of it.

The tarball is the sandbox's realistic artifact (``build_artifact(realistic_bytes=...)``:
ELF-like helper executables, ~180 MB unpacked, ~40 % compressed). Alternating, the same run
times ``tar -xzf`` into an empty dir and ``engine.install.revisions.install_revision`` (all
its validation, the temp dir, the ``sha256`` marker and the rename) into an empty versions
dir; the medians are compared. Target: Shepherd / tar <= 1.0.

    .venv/bin/python bench/extract.py [--runs 5] [--size-mb 180]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.figures import Figure, print_table  # noqa: E402
from engine.install.revisions import install_revision  # noqa: E402
from engine.versions import Revision  # noqa: E402
from sandbox.agentbuild import build_artifact  # noqa: E402


def figures(runs: int = 5, size_mb: int = 180) -> list[Figure]:
    work = Path(tempfile.mkdtemp(prefix="shb-extract-"))
    try:
        artifact = build_artifact(work / "cdn", "17.2.1", realistic_bytes=size_mb << 20)
        revision = Revision.parse_dir_name(artifact.revision_dir)
        tar_times, ours = [], []
        for run in range(runs):
            target = work / f"tar-{run}"
            target.mkdir()
            start = time.perf_counter()
            subprocess.run(["tar", "-xzf", str(artifact.path), "-C", str(target)], check=True)
            tar_times.append(time.perf_counter() - start)
            shutil.rmtree(target)
            versions = work / f"versions-{run}"
            start = time.perf_counter()
            install_revision(artifact.path, artifact.sha256, versions, revision)
            ours.append(time.perf_counter() - start)
            shutil.rmtree(versions)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tar_median, our_median = statistics.median(tar_times), statistics.median(ours)
    ratio = our_median / tar_median
    return [
        Figure(
            f"extraction, {size_mb} MB compressible tarball (median of {runs})",
            f"{our_median:.2f} s",
            f"tar -xzf {tar_median:.2f} s",
            ratio,
            "<= 1.0x tar -xzf",
            ratio <= 1.0,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size-mb", type=int, default=180)
    args = parser.parse_args()
    print_table(figures(args.runs, args.size_mb))


if __name__ == "__main__":
    main()
