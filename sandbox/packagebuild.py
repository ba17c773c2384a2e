"""Real ``.deb`` and ``.rpm`` packages of the fake agent, shaped like Teleport's own.

    deb = build_deb(out, "teleport-ent", "17.2.1", behaviour=Behaviour.good())
    rpm = build_rpm(out, "teleport", "17.3.0", behaviour=Behaviour.named("crash-at-start"))

Each package (``teleport``, ``teleport-ent`` or ``teleport-ent-fips``) ships the fake
``teleport`` (sandbox.agentbuild, the version and behaviour baked in) and ``tctl``/``tsh`` in
``/usr/local/bin`` and ``teleport.service`` in ``/lib/systemd/system``, as Teleport's packages
do. ``.deb`` files are built with ``dpkg-deb``, ``.rpm`` files with ``rpmbuild`` (Debian's
``rpm`` package). The ``.deb``'s postinst runs ``/etc/teleport-sandbox/postinst`` when it
is executable, so a test can make the configure step fail or hang (a crash mid-install);
the ``.rpm``'s ``%post`` is Lua (rpm's own interpreter: an ``--installroot`` has no
``/bin/sh``) and fails while ``/etc/teleport-sandbox/postinst-fail`` exists.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sandbox.agentbuild import HELPER_TOOLS, UNIT_TEXT, Behaviour, teleport_script

__all__ = ["PACKAGE_NAMES", "BuiltPackage", "build_deb", "build_rpm", "edition_of"]

PackageName = Literal["teleport", "teleport-ent", "teleport-ent-fips"]
PACKAGE_NAMES: tuple[PackageName, ...] = ("teleport", "teleport-ent", "teleport-ent-fips")
HOOK = "/etc/teleport-sandbox/postinst"
_INTERPRETER = "/usr/bin/python3"
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
_POSTINST = f"""#!/bin/sh
set -e
if [ -x {HOOK} ]; then {HOOK} "$@"; fi
exit 0
"""


@dataclass(frozen=True)
class BuiltPackage:
    path: Path
    name: PackageName
    version: str

    @property
    def filename(self) -> str:
        return self.path.name


def edition_of(name: PackageName) -> tuple[Literal["community", "ent"], bool]:
    return ("community", False) if name == "teleport" else ("ent", name.endswith("-fips"))


def _stage(tree: Path, version: str, behaviour: Behaviour) -> None:
    bin_dir = tree / "usr/local/bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "teleport").write_text(teleport_script(version, behaviour, _INTERPRETER))
    for tool in HELPER_TOOLS[:2]:  # tctl, tsh
        (bin_dir / tool).write_text(f"#!/bin/sh\necho '{tool} v{version}'\n")
    for path in bin_dir.iterdir():
        path.chmod(0o755)
    unit = tree / "lib/systemd/system/teleport.service"
    unit.parent.mkdir(parents=True)
    unit.write_text(UNIT_TEXT)


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, check=False, env=_ENV
    )
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed: {(result.stderr or result.stdout)[-2000:]}")


def build_deb(
    out_dir: Path,
    name: PackageName,
    version: str,
    *,
    behaviour: Behaviour | None = None,
    arch: str = "amd64",
) -> BuiltPackage:
    """``out_dir/<name>_<version>_<arch>.deb``, built with dpkg-deb."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as temp:
        tree = Path(temp) / "tree"
        _stage(tree, version, behaviour or Behaviour.good())
        control = tree / "DEBIAN"
        control.mkdir(mode=0o755)
        others = ", ".join(n for n in PACKAGE_NAMES if n != name)
        (control / "control").write_text(
            textwrap.dedent(f"""\
                Package: {name}
                Version: {version}
                Architecture: {arch}
                Maintainer: Shepherd sandbox <sandbox@agent-shepherd.invalid>
                Conflicts: {others}
                Section: admin
                Priority: optional
                Description: Teleport agent (agent-shepherd sandbox build)
                 A stand-in for the Teleport agent that behaves like it for updaters.
                """)
        )
        postinst = control / "postinst"
        postinst.write_text(_POSTINST)
        postinst.chmod(0o755)
        path = out_dir / f"{name}_{version}_{arch}.deb"
        _run(
            ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(tree), str(path)],
            "dpkg-deb",
        )
    return BuiltPackage(path, name, version)


def build_rpm(
    out_dir: Path,
    name: PackageName,
    version: str,
    *,
    behaviour: Behaviour | None = None,
    release: str = "1",
    arch: str = "x86_64",
) -> BuiltPackage:
    """``out_dir/<name>-<version>-<release>.<arch>.rpm``, built with rpmbuild."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir) as temp:
        top = Path(temp)
        tree = top / "tree"
        _stage(tree, version, behaviour or Behaviour.good())
        others = " ".join(n for n in PACKAGE_NAMES if n != name)
        spec = top / f"{name}.spec"
        spec.write_text(
            textwrap.dedent(f"""\
                %global debug_package %{{nil}}
                %global __os_install_post %{{nil}}
                %global _build_id_links none
                Name: {name}
                Version: {version}
                Release: {release}
                Summary: Teleport agent (agent-shepherd sandbox build)
                License: Apache-2.0
                BuildArch: {arch}
                AutoReqProv: no
                Conflicts: {others}

                %description
                A stand-in for the Teleport agent that behaves like it for updaters.

                %install
                cp -a {tree}/. %{{buildroot}}/

                %post -p <lua>
                if posix.access("{HOOK}-fail") then error("sandbox: told to fail") end

                %files
                /usr/local/bin/teleport
                /usr/local/bin/tctl
                /usr/local/bin/tsh
                /lib/systemd/system/teleport.service
                """)
        )
        _run(
            [
                "rpmbuild",
                "-bb",
                "--nodeps",
                "--define",
                f"_topdir {top / 'build'}",
                "--define",
                "_binary_payload w1.gzdio",
                "--target",
                arch,
                str(spec),
            ],
            "rpmbuild",
        )
        filename = f"{name}-{version}-{release}.{arch}.rpm"
        built = top / "build/RPMS" / arch / filename
        path = out_dir / filename
        shutil.move(built, path)
    path.chmod(0o644)
    return BuiltPackage(path, name, version)
