"""The platform floor of the frozen build: which libraries come from the host, not the bundle.

- ``is_host_library``: what PyInstaller must not bundle because it has to match the host it
  runs on (the graphics stack and its drivers, the C++ runtime they load against, GLib and
  GTK, X11/xcb/Wayland, fontconfig, D-Bus, systemd). The package's Depends bring them.
- ``strip_build_rpaths``: PyInstaller copies libraries as built, some with a RUNPATH naming
  the build machine's Python or Qt prefix; only ``$ORIGIN``-relative entries are kept.
- ``shlib_depends``: the Debian packages (with minimum versions) that the frozen folder's
  ELF files need from the host, as ``dpkg-shlibdeps`` computes them from the symbols used.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from installer.project import BuildError

__all__ = ["elf_files", "is_host_library", "shlib_depends", "strip_build_rpaths"]

_HOST_STEMS = (
    # C++ runtime: the host's Mesa/GPU driver loads against the host's, never an older one
    "stdc++",
    "gcc_s",
    # graphics stack and drivers
    "GL",
    "EGL",
    "GLX",
    "GLdispatch",
    "OpenGL",
    "GLESv2",
    "gbm",
    "drm",
    "vulkan",
    "epoxy",
    # GLib, GTK and what they pull in
    "glib",
    "gobject",
    "gio",
    "gmodule",
    "gthread",
    "ffi",
    "gtk",
    "gdk",
    "gdk_pixbuf",
    "pango",
    "pangocairo",
    "pangoft2",
    "cairo",
    "atk",
    "atspi",
    "harfbuzz",
    "fribidi",
    "thai",
    "datrie",
    "graphite2",
    "pixman",
    "jpeg",
    "png16",
    "mount",
    "blkid",
    "selinux",
    "pcre2",
    "uuid",
    "bsd",
    "md",
    # windowing: X11, xcb, Wayland, keyboard maps
    "X11",
    "Xau",
    "Xdmcp",
    "Xext",
    "Xrender",
    "Xi",
    "Xcomposite",
    "Xcursor",
    "Xdamage",
    "Xfixes",
    "Xinerama",
    "Xrandr",
    "xcb",
    "xkbcommon",
    "wayland",
    # fonts (must read the host's configuration) and compression they share with the host
    "fontconfig",
    "freetype",
    "expat",
    "brotlicommon",
    "brotlidec",
    "bz2",
    "z",
    # system services; TLS and Kerberos, which get the distribution's security updates
    "dbus",
    "systemd",
    "udev",
    "cap",
    "lzma",
    "zstd",
    "lz4",
    "gcrypt",
    "gpg-error",
    "ssl",
    "crypto",
    "gssapi_krb5",
    "krb5",
    "k5crypto",
    "krb5support",
    "keyutils",
    "com_err",
)
_HOST_LIBRARY = re.compile(
    r"^lib(?:" + "|".join(re.escape(stem) for stem in _HOST_STEMS) + r")(?:-[\w.-]+)?\.so(?:\.|$)"
)
# Qt plugins for stacks the tray does not use, which would tie it to more host libraries:
# the GTK theme, embedded/framebuffer/VNC/Vulkan-display platforms and their KMS support,
# evdev input without a display server, GLib's network monitor.
_UNUSED_QT_PLUGINS = re.compile(
    r"(^|/)(PySide6/Qt/plugins/("
    r"platformthemes/libqgtk3\.so"
    r"|platforms/libq(eglfs|linuxfb|vkkhrdisplay|vnc|minimalegl)\.so"
    r"|egldeviceintegrations/|generic/|networkinformation/libqglib\.so"
    r")|(PySide6/Qt/lib/)?libQt6EglFs\w*\.so)",
    re.IGNORECASE,
)


def is_host_library(name: str) -> bool:
    """True for a library (``libGL.so.1``, ``PySide6/Qt/plugins/platformthemes/libqgtk3.so``)
    that is not bundled: it must come from the host, or serves a stack the tray does not use."""
    return bool(_HOST_LIBRARY.match(Path(name).name) or _UNUSED_QT_PLUGINS.search(name))


def elf_files(tree: Path) -> list[Path]:
    """Every regular ELF file under ``tree`` (executables and shared libraries)."""
    found = []
    for path in sorted(tree.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as stream:
            if stream.read(4) == b"\x7fELF":
                found.append(path)
    return found


def _patchelf(*args: str) -> subprocess.CompletedProcess[str]:
    if shutil.which("patchelf") is None:
        raise BuildError("patchelf is missing (apt-get install patchelf)")
    return subprocess.run(["patchelf", *args], capture_output=True, text=True, check=False)


def strip_build_rpaths(tree: Path) -> list[Path]:
    """Drop every RPATH/RUNPATH entry not relative to ``$ORIGIN``; returns the files changed."""
    changed = []
    for path in elf_files(tree):
        printed = _patchelf("--print-rpath", str(path))
        if printed.returncode != 0 or not printed.stdout.strip():
            continue
        entries = printed.stdout.strip().split(":")
        kept = [entry for entry in entries if entry.startswith("$ORIGIN")]
        if kept == entries:
            continue
        if kept:
            result = _patchelf("--set-rpath", ":".join(kept), str(path))
        else:
            result = _patchelf("--remove-rpath", str(path))
        if result.returncode != 0:
            raise BuildError(f"patchelf could not fix the RUNPATH of {path}: {result.stderr}")
        changed.append(path)
    return changed


def shlib_depends(tree: Path, package: str) -> list[str]:
    """``dpkg-shlibdeps``' Depends for the ELF files under ``tree``, e.g.
    ``["libc6 (>= 2.34)", "libxcb1 (>= 1.8)"]``; libraries found in the tree itself are not
    dependencies.

    Raises:
        BuildError: dpkg-shlibdeps (dpkg-dev) is missing or failed.
    """
    if shutil.which("dpkg-shlibdeps") is None:
        raise BuildError("dpkg-shlibdeps is missing (apt-get install dpkg-dev)")
    files = elf_files(tree)
    bundled_dirs = sorted({str(path.parent) for path in files})
    with tempfile.TemporaryDirectory(prefix="shepherd-shlibdeps-") as tmp:
        (Path(tmp) / "debian").mkdir()
        (Path(tmp) / "debian" / "control").write_text(
            f"Source: {package}\n\nPackage: {package}\nArchitecture: any\n"
        )
        result = subprocess.run(
            [
                "dpkg-shlibdeps",
                "-O",
                "--ignore-missing-info",
                "--warnings=0",
                *(f"-l{directory}" for directory in bundled_dirs),
                *(str(path) for path in files),
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            env={**os.environ, "LC_ALL": "C"},
            check=False,
        )
    if result.returncode != 0:
        raise BuildError(f"dpkg-shlibdeps failed: {result.stderr.strip()[-2000:]}")
    depends: list[str] = []
    for line in result.stdout.splitlines():
        if line.startswith("shlibs:Depends="):
            depends = [d.strip() for d in line.split("=", 1)[1].split(",") if d.strip()]
    return depends
