# Set-up entry points for a fresh Debian machine. Each target installs what it needs
# (Debian packages when missing, a venv, pip) and is safe to run again.
VENV      ?= .venv
PYTHON    ?= python3
BIN       := $(VENV)/bin
APT_PKGS  := nginx-light tinyproxy supervisor openssl ca-certificates python3-venv \
             gnome-keyring dbus dbus-x11 libsecret-tools polkitd pkexec \
             libegl1 libgl1 libfontconfig1 libxkbcommon0 libglib2.0-0 \
             gpg apt-utils debootstrap util-linux rpm dnf zypper createrepo-c \
             xvfb dunst xfce4-panel

# a desktop under Xvfb: `make shots`, `make demo-gui` and tests/gui/test_desktop_shots.py
# (the other GUI tests run Qt offscreen without them)
SHOT_PKGS := xvfb trayer libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 \
             libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
             libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 \
             libxcb-xfixes0 libxcb-sync1 libxcb-shm0

# only for `make deb` / `make repo`: dpkg-shlibdeps (dpkg-dev) computes Depends from the
# libraries the tray's Qt loads, so they must be installed on the build machine; patchelf
# strips build-machine RUNPATHs; lintian, appstreamcli and desktop-file-validate check the
# results; apt-ftparchive (apt-utils) and gpg make the repository
DEB_PKGS  := dpkg-dev lintian patchelf appstream desktop-file-utils apt-utils gpg \
             libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 \
             libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 \
             libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxcb-xfixes0 \
             libxcb-sync1 libxcb-shm0 libwayland-client0 libwayland-cursor0 libwayland-egl1

# `make demo-gui` also needs a notification daemon, a session bus and a panel that hosts
# StatusNotifierItems (xfce4-panel; trayer, XEmbed only, where it is missing)
DEMO_GUI_PKGS := $(SHOT_PKGS) dunst dbus-x11 xfce4-panel

.PHONY: help test lint typecheck unit demo demo-package demo-gui apt venv clean shots build deb repo debtools pyinstaller

help:
	@echo "make test   - install everything needed, then lint, type-check and run the tests"
	@echo "             (TEST_WORKERS=N test workers, default 4; TEST_WORKERS=0 runs them in one)"
	@echo "make demo   - install what it needs, then run Shepherd on the sandbox demo host"
	@echo "make demo-package - (root) a package-installed agent updated with apt by Shepherd"
	@echo "make demo-gui - the demo told by the tray on a virtual desktop: screenshots in demo-shots/"
	@echo "make shots  - screenshots of the tray app under Xvfb + trayer (SOCKET=... for a daemon)"
	@echo "make build  - PyInstaller: dist/agent-shepherd/ (daemon + CLI), dist/agent-shepherd-tray/"
	@echo "make deb    - make build, then dist/agent-shepherd{,-tray}_<version>_<arch>.deb, linted"
	@echo "make repo KEY=<gpg key> URL=<where served> - add dist/'s .debs to the signed dist/repo/"

apt:
	@bash scripts/ensure-apt.sh $(APT_PKGS) $(DEMO_GUI_PKGS)

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check engine sandbox tests bench gui installer
	$(BIN)/lint-imports
	@bash scripts/check-module-size.sh 400 engine gui

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit

# the installer tests build the packages
debtools:
	@bash scripts/ensure-apt.sh $(DEB_PKGS)

# the suite's workers (pytest-xdist): most tests wait on real servers and processes, so
# more workers than cores; `--dist load --maxschedchunk 1` hands the tests out one at a time,
# slowest first (tests/conftest.py orders them): without it xdist gives each worker a block
# of consecutive tests at start, and one worker got every booted-systemd-host test in a row
TEST_WORKERS ?= 4
XDIST = -n $(TEST_WORKERS) --dist load --maxschedchunk 1

test: apt debtools venv lint typecheck
	$(BIN)/pytest $(XDIST)

demo: apt venv
	$(BIN)/python -m sandbox.demo

demo-package: apt venv
	$(BIN)/python -m sandbox.demo --package

demo-gui: apt venv
	@bash scripts/ensure-apt.sh $(DEMO_GUI_PKGS)
	$(BIN)/python scripts/demo_gui.py --out demo-shots

shots: venv
	@bash scripts/ensure-apt.sh $(SHOT_PKGS)
	$(BIN)/python scripts/tray_screenshot.py --out shots $(if $(SOCKET),--socket $(SOCKET))

# PyInstaller is in the dev extra; installed here too for a venv made before it was
pyinstaller: venv
	@$(BIN)/python -c 'import PyInstaller' 2>/dev/null || \
		$(BIN)/python -m pip install --quiet 'pyinstaller>=6.10'

build: pyinstaller
	$(BIN)/python -m installer.build freeze

deb: pyinstaller debtools
	$(BIN)/python -m installer.build deb --lintian

repo: venv debtools
	$(BIN)/python -m installer.build repo --key "$(KEY)" --url "$(URL)"

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
