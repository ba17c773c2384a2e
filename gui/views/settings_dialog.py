"""The settings dialog: the host's network settings, each agent's cluster proxy and group,
and the write-only secrets.

Save sends one ``PATCH /v1/settings`` with the edited fields (all or nothing on the
daemon's side); when the daemon refuses (``400``) its message is shown next to the field
it names and nothing else is sent. Secrets go to ``PUT /v1/secrets/{name}`` only after the
settings were accepted; their fields are cleared at once and only "stored" / "not stored"
is ever shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from engine.api.client import ApiClient, ApiError
from gui.settings_model import (
    HOST_FIELDS,
    SECRETS,
    Field,
    agent_fields,
    changes_between,
    current_values,
    field_for_error,
)
from gui.worker import ApiWorker

__all__ = ["SettingsDialog"]

_ERROR_STYLE = "color: #c62828;"


@dataclass
class _Loaded:
    settings: dict[str, Any]
    namespaces: list[str]


@dataclass
class _SaveError:
    error: Exception
    stage: str  # "settings" or the secret's name


class SettingsDialog(QDialog):
    loaded = Signal()
    saved = Signal()
    refused = Signal(str)  # the daemon's message

    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shepherd — settings")
        self.setMinimumWidth(560)
        self._worker = worker
        self._original: dict[str, str] = {}
        self._pending = False  # secrets were sent with the last save
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self.secret_edits: dict[str, QLineEdit] = {}
        self.secret_states: dict[str, QLabel] = {}
        self._form = QFormLayout()
        self.message = QLabel("loading…")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)

    # ---- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        self.message.setText("loading…")
        self._worker.call(_load, self._fill, self._load_failed)

    def _fill(self, loaded: _Loaded) -> None:
        while self._form.rowCount():
            self._form.removeRow(0)
        self.edits.clear()
        self.errors.clear()
        self.secret_edits.clear()
        self.secret_states.clear()
        self._original = current_values(loaded.settings, loaded.namespaces)
        fields = list(HOST_FIELDS)
        for namespace in loaded.namespaces:
            fields += agent_fields(namespace)
        for field in fields:
            self._add_field(field, self._original.get(field.key, ""))
        stored = (loaded.settings.get("secrets") or {}).get("stored") or {}
        for name, label in SECRETS:
            self._add_secret(name, label, bool(stored.get(name)))
        problem = loaded.settings.get("problem")
        self.message.setText(f"settings file problem: {problem}" if problem else "")
        self.buttons.setEnabled(True)
        self.loaded.emit()

    def _add_field(self, field: Field, value: str) -> None:
        edit = QLineEdit(value)
        edit.setObjectName(field.key)
        edit.setPlaceholderText(field.hint)
        error = QLabel("")
        error.setObjectName(f"error:{field.key}")
        error.setStyleSheet(_ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(edit)
        column.addWidget(error)
        self._form.addRow(field.label, box)
        self.edits[field.key] = edit
        self.errors[field.key] = error

    def _add_secret(self, name: str, label: str, stored: bool) -> None:
        edit = QLineEdit()
        edit.setObjectName(f"secret:{name}")
        edit.setEchoMode(QLineEdit.EchoMode.Password)
        edit.setPlaceholderText("type a new value to store it (never shown)")
        state = QLabel("stored" if stored else "not stored")
        state.setObjectName(f"stored:{name}")
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(edit)
        line.addWidget(state)
        self._form.addRow(label, row)
        self.secret_edits[name] = edit
        self.secret_states[name] = state

    def _load_failed(self, error: Exception) -> None:
        self.message.setText(f"could not load the settings: {error}")
        self.buttons.setEnabled(False)

    # ---- saving -------------------------------------------------------------------------
    def save(self) -> None:
        for label in self.errors.values():
            label.hide()
            label.clear()
        changes = changes_between(
            self._original, {key: edit.text() for key, edit in self.edits.items()}
        )
        secrets = {name: edit.text() for name, edit in self.secret_edits.items() if edit.text()}
        for edit in self.secret_edits.values():  # the value lives only in the request now
            edit.clear()
        self._pending = bool(secrets)
        if not changes and not secrets:
            self.message.setText("nothing changed")
            return
        self.buttons.setEnabled(False)
        self.message.setText("saving…")

        def work(api: ApiClient) -> _Loaded | _SaveError:
            if changes:
                try:
                    api.request("PATCH", "/v1/settings", body={"changes": changes})
                except ApiError as e:
                    return _SaveError(e, "settings")
            for name, value in secrets.items():
                try:
                    api.request("PUT", f"/v1/secrets/{name}", body={"value": value})
                except ApiError as e:
                    return _SaveError(e, name)
            return _load(api)

        self._worker.call(work, self._saved, self._save_failed)

    def _saved(self, result: _Loaded | _SaveError) -> None:
        self.buttons.setEnabled(True)
        if isinstance(result, _SaveError):
            self._refused(result)
            return
        self._fill(result)
        self.message.setText("saved")
        self.saved.emit()

    def _refused(self, failure: _SaveError) -> None:
        message = str(failure.error)
        if failure.stage != "settings":
            self.secret_states[failure.stage].setText(f"not stored: {message}")
            self.message.setText("settings saved; a secret was refused")
            self.refused.emit(message)
            return
        key = field_for_error(message, self.edits)
        retype = " Secrets typed were not stored either: type them again." if self._pending else ""
        if key is not None:
            self.errors[key].setText(message)
            self.errors[key].show()
            self.message.setText(
                "not saved: the daemon refused a value (nothing was changed)." + retype
            )
        else:
            self.message.setText(f"not saved: {message}.{retype}")
        self.refused.emit(message)

    def _save_failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.message.setText(f"not saved: {error}")
        self.refused.emit(str(error))

    def field_text(self) -> Mapping[str, str]:
        return {key: edit.text() for key, edit in self.edits.items()}


def _load(api: ApiClient) -> _Loaded:
    settings: dict[str, Any] = api.get("/v1/settings")
    agents = api.get("/v1/agents")["agents"]
    namespaces = sorted({str(a["agent"]) for a in agents} | set(settings["settings"]["agents"]))
    return _Loaded(settings, namespaces)
