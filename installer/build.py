"""Build the frozen Shepherd (PyInstaller, one folder) and its ``.deb``.

    python -m installer.build freeze     # dist/agent-shepherd/shepherd, dist/agent-shepherd-tray/
    python -m installer.build deb        # freeze, then dist/agent-shepherd{,-tray}_<ver>_<arch>.deb
    python -m installer.build deb --no-freeze --lintian
    python -m installer.build repo --key FINGERPRINT --url URL   # a signed apt repository
    python -m installer.build icons      # re-render assets/*.png from gui/icons.py

One build (``installer/shepherd.spec``) makes two folders, one per package: the daemon + CLI
without Qt, and the tray. What they bundle (hidden imports for the keyring backends chosen at
run time, package data) is declared here; which host libraries they leave out, and the
build-machine RUNPATHs they lose, in ``installer/hostlibs.py``. The package layout is in
``installer/debpkg.py``, the repository in ``installer/aptrepo.py``. Work files go under
``build/``, results under ``dist/`` (both git-ignored) unless ``--work``/``--dist`` say
otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

if __name__ == "__main__" and __package__ is None:
    # run as `python installer/build.py`: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from installer import aptrepo, debpkg
from installer.hostlibs import is_host_library, strip_build_rpaths
from installer.project import (
    APP_DIR_NAME,
    ICON_SIZES,
    ROOT,
    TRAY_DIR_NAME,
    BuildError,
    project_version,
)

__all__ = [
    "CLI_EXCLUDES",
    "CLI_HIDDEN_IMPORTS",
    "TRAY_EXCLUDES",
    "TRAY_HIDDEN_IMPORTS",
    "collect_data",
    "freeze",
    "is_host_library",
    "main",
    "render_icons",
]

SPEC = ROOT / "installer" / "shepherd.spec"

# Loaded by name at run time, so PyInstaller's import analysis cannot see them: keyring
# backends (engine.settings.secrets picks one explicitly; keyring itself probes the rest through
# entry points), Secret Service over D-Bus (secretstorage on jeepney), and the AES-GCM
# file backend (cryptography's Rust bindings).
_SECRETS_IMPORTS = [
    "engine.settings.secrets",
    "engine.settings.keyring_file",
    "engine.settings.keyring_desktop",
    "keyring.backends",
    "keyring.backends.SecretService",
    "keyring.backends.chainer",
    "keyring.backends.fail",
    "keyring.backends.kwallet",
    "keyring.backends.libsecret",
    "keyring.backends.null",
    "secretstorage",
    "secretstorage.collection",
    "secretstorage.dhcrypto",
    "secretstorage.item",
    "jeepney",
    "jeepney.io.blocking",
    "cryptography",
    "cryptography.hazmat.bindings._rust",
    "cryptography.hazmat.primitives.ciphers.aead",
]
# every command's module: the parser imports them by name only when the command runs
# (engine/cli/lazy.py), which PyInstaller's analysis cannot see
_CLI_COMMANDS = sorted(
    f"engine.cli.{path.stem}" for path in (ROOT / "engine" / "cli").glob("*.py")
    if path.stem not in {"__init__", "__main__"}
)  # fmt: skip
CLI_HIDDEN_IMPORTS = [*_SECRETS_IMPORTS, *_CLI_COMMANDS, "engine.daemon", "engine.service.systemd"]
# The tray talks to the daemon only; Qt's platform plugins (xcb, offscreen, wayland) come
# with PyInstaller's PySide6 hooks for QtGui.
TRAY_HIDDEN_IMPORTS = ["engine.api.client", "PySide6.QtGui", "PySide6.QtWidgets"]

_NEVER = ["tkinter", "sandbox", "tests", "bench", "installer", "pytest", "hypothesis", "mypy"]
CLI_EXCLUDES = [*_NEVER, "PySide6", "shiboken6", "gui"]
TRAY_EXCLUDES = _NEVER


def collect_data(*, tray: bool) -> list[tuple[str, str]]:
    """Package data the frozen code reads with importlib.resources: (source, dest dir). The
    tray's symbolic panel icons only in the tray's folder (the server package holds nothing
    of the tray).

    ``engine/VERSION`` (``engine.about``) is written from pyproject.toml into the work dir
    that ``freeze`` names in ``SHEPHERD_BUILD_WORK``."""
    data = [(str(ROOT / "engine" / "demo_scenario.yaml"), "engine")]
    if tray:
        symbolic = Path("gui") / "panel_icons" / "hicolor" / "symbolic" / "apps"  # IconThemePath
        data += [(str(svg), str(symbolic)) for svg in sorted((ROOT / symbolic).glob("*.svg"))]
    work = os.environ.get("SHEPHERD_BUILD_WORK")
    if work:
        version_file = Path(work) / "VERSION"
        version_file.write_text(project_version() + "\n")
        data.append((str(version_file), "engine"))
    return data


def freeze(dist: Path, work: Path) -> Path:
    """Run PyInstaller on the spec; returns the daemon + CLI folder (``dist/agent-shepherd``),
    the tray's beside it (``dist/agent-shepherd-tray``), both without build-host RUNPATHs.

    Raises:
        BuildError: PyInstaller is missing or failed, or an executable is missing.
    """
    if importlib.util.find_spec("PyInstaller") is None:
        raise BuildError(
            "PyInstaller is not installed in this Python: pip install pyinstaller "
            "(or run 'make build')"
        )
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        str(SPEC),
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(dist),
        "--workpath",
        str(work / "pyinstaller"),
    ]
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SHEPHERD_BUILD_WORK": str(work)}
    result = subprocess.run(command, cwd=ROOT, check=False, env=env)
    if result.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {result.returncode})")
    for folder, name in ((APP_DIR_NAME, "shepherd"), (TRAY_DIR_NAME, "shepherd-tray")):
        if not (dist / folder / name).is_file():
            raise BuildError(f"PyInstaller produced no {dist / folder / name}")
        strip_build_rpaths(dist / folder)
    return dist / APP_DIR_NAME


def render_icons(out: Path = ROOT / "assets") -> list[Path]:
    """Render the application icon (the tray's "ok" state from gui/icons.py) as PNGs."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Qt only for this step: freezing and packaging never load it
    from PySide6.QtGui import QGuiApplication  # noqa: PLC0415

    from gui.icons import state_pixmap  # noqa: PLC0415
    from gui.viewmodel import IconState  # noqa: PLC0415

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    written = []
    for size in ICON_SIZES:
        path = out / f"agent-shepherd-{size}.png"
        if not state_pixmap(IconState.OK, size).save(str(path), "PNG"):
            raise BuildError(f"could not write {path}")
        written.append(path)
    del app
    return written


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m installer.build",
        description="Build the frozen Shepherd (PyInstaller), its .debs and its apt repository.",
    )
    parser.add_argument(
        "step",
        choices=("freeze", "deb", "repo", "icons"),
        help="freeze: the PyInstaller folders; deb: freeze, then agent-shepherd and "
        "agent-shepherd-tray .debs; repo: add .debs to a signed apt repository; "
        "icons: re-render assets/*.png",
    )
    parser.add_argument("debs", nargs="*", type=Path, help="repo: the .debs (default: dist/'s)")
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="results (dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="work files (build/)")
    parser.add_argument(
        "--no-freeze", action="store_true", help="deb: package the existing frozen folders"
    )
    parser.add_argument(
        "--lintian", action="store_true", help="deb: run lintian on the results (if installed)"
    )
    parser.add_argument(
        "--xz-level",
        type=int,
        choices=range(10),
        default=6,
        help="deb: xz compression level (default 6; the tests use 1 to build faster)",
    )
    parser.add_argument("--key", help="repo: the gpg key (fingerprint or user id) to sign with")
    parser.add_argument("--url", help="repo: where the repository will be served (for .sources)")
    parser.add_argument("--gnupghome", type=Path, help="repo: gpg's home (default: gpg's own)")
    parser.add_argument("--repo", type=Path, help="repo: the repository dir (default: dist/repo)")
    return parser.parse_intermixed_args(argv)


def _repo(options: argparse.Namespace, dist: Path) -> int:
    if not options.key or not options.url:
        raise BuildError(
            "repo needs --key (the admin's signing key) and --url (where it is served)"
        )
    debs = options.debs or sorted(dist.glob(f"*_{project_version()}_*.deb"))
    repo = (options.repo or dist / "repo").resolve()
    enrolment = aptrepo.build_repo(
        debs, repo, key=options.key, url=options.url, gnupghome=options.gnupghome
    )
    print(f"signed {repo}; enrol a host with {enrolment} in /etc/apt/sources.list.d/")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    options = _arguments(argv)
    dist: Path = options.dist.resolve()
    work: Path = options.work.resolve()
    try:
        if options.step == "icons":
            for path in render_icons():
                print(path.relative_to(ROOT))
            return 0
        if options.step == "repo":
            return _repo(options, dist)
        if options.step == "freeze" or not options.no_freeze:
            started = time.monotonic()
            app = freeze(dist, work)
            print(f"froze {app} and {dist / TRAY_DIR_NAME} in {time.monotonic() - started:.1f} s")
        if options.step == "deb":
            for folder, name in ((APP_DIR_NAME, "shepherd"), (TRAY_DIR_NAME, "shepherd-tray")):
                if not (dist / folder / name).is_file():
                    raise BuildError(f"no frozen build in {dist / folder}: run without --no-freeze")
            started = time.monotonic()
            debs = debpkg.build_debs(dist, work / "deb-root", dist, xz_level=options.xz_level)
            for deb in debs:
                print(f"built {deb} ({deb.stat().st_size / 2**20:.1f} MiB)")
            print(f"packaged in {time.monotonic() - started:.1f} s")
            if options.lintian:
                return debpkg.run_lintian(debs)
    except BuildError as e:
        print(f"build: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
