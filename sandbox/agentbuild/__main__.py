"""python -m sandbox.agentbuild --out DIR --version 17.2.1 [--edition ent] [--fips]"""

from __future__ import annotations

import argparse
from pathlib import Path

from sandbox.agentbuild import REAL_RELEASE_BYTES, Behaviour, build_artifact


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.agentbuild", description="Build a sandbox agent artifact."
    )
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--version", required=True, help="version without 'v', e.g. 17.2.1")
    parser.add_argument("--edition", choices=["community", "ent"], default="community")
    parser.add_argument("--fips", action="store_true")
    parser.add_argument("--arch", default="amd64")
    parser.add_argument(
        "--behaviour",
        default="good",
        help="good, crash-at-start, crash-after-N, never-ready, slow-ready-N, ignores-sighup, "
        "no-debug-socket",
    )
    parser.add_argument("--padding-bytes", type=int, default=0)
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="ELF-like helper executables of a real release's size (~180 MB unpacked)",
    )
    args = parser.parse_args()
    artifact = build_artifact(
        args.out,
        args.version,
        edition=args.edition,
        fips=args.fips,
        arch=args.arch,
        behaviour=Behaviour.named(args.behaviour),
        padding_bytes=args.padding_bytes,
        realistic_bytes=REAL_RELEASE_BYTES if args.realistic else 0,
    )
    print(f"{artifact.path}  sha256={artifact.sha256}")


if __name__ == "__main__":
    main()
