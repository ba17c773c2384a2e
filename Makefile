# Set-up entry points for a fresh Debian machine. Each target installs what it needs
# (Debian packages when missing, a venv, pip) and is safe to run again.
VENV      ?= .venv
PYTHON    ?= python3
BIN       := $(VENV)/bin
APT_PKGS  := nginx-light tinyproxy supervisor openssl ca-certificates python3-venv \
             gnome-keyring dbus dbus-x11 libsecret-tools

.PHONY: help test lint typecheck unit demo apt venv clean

help:
	@echo "make test   - install everything needed, then lint, type-check and run the tests"
	@echo "make demo   - install what it needs, then run Shepherd on the sandbox demo host"

apt:
	@bash scripts/ensure-apt.sh $(APT_PKGS)

$(BIN)/.installed: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/.installed

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check engine sandbox tests bench gui

typecheck: venv
	$(BIN)/mypy

unit: venv
	$(BIN)/pytest tests/unit

test: apt venv lint typecheck
	$(BIN)/pytest

demo: apt venv
	$(BIN)/python -m sandbox.demo

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
