"""Build the frozen Shepherd (PyInstaller, one folder) and its ``.deb``.

    python -m installer.build freeze     # dist/agent-shepherd/{shepherd,shepherd-tray}
    python -m installer.build deb        # freeze, then dist/agent-shepherd_<ver>_<arch>.deb
    python -m installer.build deb --no-freeze --lintian
    python -m installer.build icons      # re-render assets/*.png from gui/icons.py

Both executables share one ``_internal/`` built from ``installer/shepherd.spec``; what it
bundles (hidden imports for the keyring backends chosen at run time, package data) is
declared here. The package layout is in ``installer/debpkg.py``. Work files go under
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

from installer import debpkg
from installer.project import APP_DIR_NAME, ICON_SIZES, ROOT, BuildError

__all__ = [
    "CLI_EXCLUDES",
    "CLI_HIDDEN_IMPORTS",
    "TRAY_EXCLUDES",
    "TRAY_HIDDEN_IMPORTS",
    "collect_data",
    "freeze",
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
CLI_HIDDEN_IMPORTS = [*_SECRETS_IMPORTS, "engine.daemon", "engine.service.systemd"]
# The tray talks to the daemon only; Qt's platform plugins (xcb, offscreen, wayland) come
# with PyInstaller's PySide6 hooks for QtGui.
TRAY_HIDDEN_IMPORTS = ["engine.api.client", "PySide6.QtGui", "PySide6.QtWidgets"]

_NEVER = ["tkinter", "sandbox", "tests", "bench", "installer", "pytest", "hypothesis", "mypy"]
CLI_EXCLUDES = [*_NEVER, "PySide6", "shiboken6", "gui"]
TRAY_EXCLUDES = _NEVER


def collect_data() -> list[tuple[str, str]]:
    """Package data the frozen code reads with importlib.resources: (source, dest dir)."""
    return [(str(ROOT / "engine" / "demo_scenario.yaml"), "engine")]


def freeze(dist: Path, work: Path) -> Path:
    """Run PyInstaller on the spec; returns the one-folder app (``dist/agent-shepherd``).

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
    result = subprocess.run(command, cwd=ROOT, check=False)
    if result.returncode != 0:
        raise BuildError(f"PyInstaller failed (exit {result.returncode})")
    app = dist / APP_DIR_NAME
    for name in ("shepherd", "shepherd-tray"):
        if not (app / name).is_file():
            raise BuildError(f"PyInstaller produced no {app / name}")
    return app


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
        description="Build the frozen Shepherd (PyInstaller) and its .deb.",
    )
    parser.add_argument(
        "step",
        choices=("freeze", "deb", "icons"),
        help="freeze: the PyInstaller folder; deb: freeze, then the .deb; "
        "icons: re-render assets/*.png",
    )
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="results (dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="work files (build/)")
    parser.add_argument(
        "--no-freeze", action="store_true", help="deb: package the existing frozen folder"
    )
    parser.add_argument(
        "--lintian", action="store_true", help="deb: run lintian on the result (if installed)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = _arguments(argv)
    dist: Path = options.dist.resolve()
    work: Path = options.work.resolve()
    try:
        if options.step == "icons":
            for path in render_icons():
                print(path.relative_to(ROOT))
            return 0
        app = dist / APP_DIR_NAME
        if options.step == "freeze" or not options.no_freeze:
            started = time.monotonic()
            app = freeze(dist, work)
            print(f"froze {app} in {time.monotonic() - started:.1f} s")
        if options.step == "deb":
            if not (app / "shepherd").is_file():
                raise BuildError(f"no frozen build in {app}: run without --no-freeze")
            started = time.monotonic()
            deb = debpkg.build_deb(app, work / "deb-root", dist)
            size = deb.stat().st_size / 2**20
            print(f"built {deb} ({size:.1f} MiB) in {time.monotonic() - started:.1f} s")
            if options.lintian:
                return debpkg.run_lintian(work / "deb-root")
    except BuildError as e:
        print(f"build: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
