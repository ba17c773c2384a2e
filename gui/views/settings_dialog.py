"""The settings dialog: every setting the daemon declares (its settings schema, fetched
with the settings), for the host and for each agent, and the write-only secrets.

Save sends one ``PATCH /v1/settings`` with the edited fields (all or nothing on the
daemon's side); when the daemon refuses (``400``) each refused value's reason is shown next
to the field of its key (from the structured answer) and nothing else is sent. Secrets go
to ``PUT /v1/secrets/{name}`` only after the settings were accepted; their fields are
cleared at once and only "stored" / "not stored" is ever shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.api.client import ApiClient, ApiError
from gui.settings_model import (
    Field,
    changes_between,
    current_values,
    fields_from_schema,
    place_errors,
    secrets_from_schema,
)
from gui.worker import ApiWorker

__all__ = ["SettingsDialog"]

_ERROR_STYLE = "color: #c62828;"


@dataclass
class _Loaded:
    schema: dict[str, Any]
    settings: dict[str, Any]
    namespaces: list[str]


@dataclass
class _SaveError:
    error: Exception
    stage: str  # "settings" or the secret's name


class SettingsDialog(QDialog):
    loaded = Signal()
    saved = Signal()
    refused = Signal(str)  # what the dialog says about the refusal (each error's text)

    def __init__(self, worker: ApiWorker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shepherd — settings")
        self.setMinimumWidth(640)
        self._worker = worker
        self._original: dict[str, str] = {}
        self._pending = False  # secrets were sent with the last save
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, QLabel] = {}
        self.secret_edits: dict[str, QLineEdit] = {}
        self.secret_states: dict[str, QLabel] = {}
        self.fields: dict[str, Field] = {}
        self._form = QFormLayout()
        form = QWidget()
        form.setLayout(self._form)
        self._scroll = QScrollArea()
        self._scroll.setWidgetResizable(True)
        # a scroll bar that comes and goes changes the width the wrapped error texts were
        # laid out for, and clips their last line
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setWidget(form)
        self._scroll.setMinimumHeight(360)
        self.message = QLabel("loading…")
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close
        )
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addWidget(self._scroll)
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
        self.fields.clear()
        self.secret_edits.clear()
        self.secret_states.clear()
        fields = fields_from_schema(loaded.schema, loaded.namespaces)
        self._original = current_values(loaded.settings, fields)
        for field in fields:
            self._add_field(field, self._original.get(field.key, ""))
        stored = (loaded.settings.get("secrets") or {}).get("stored") or {}
        for name, label in secrets_from_schema(loaded.schema):
            self._add_secret(name, label, bool(stored.get(name)))
        problem = loaded.settings.get("problem")
        self.message.setText(f"settings file problem: {problem}" if problem else "")
        self.buttons.setEnabled(True)
        if fields:
            self.edits[fields[0].key].setFocus()
        self.loaded.emit()

    def _add_field(self, field: Field, value: str) -> None:
        edit = QLineEdit(value)
        edit.setObjectName(field.key)
        edit.setPlaceholderText(field.hint)
        edit.setToolTip(field.help)
        error = QLabel("")
        error.setObjectName(f"error:{field.key}")
        error.setStyleSheet(_ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        self._form.addRow(field.label, edit)
        self._form.addRow("", error)
        self.fields[field.key] = field
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
        errors = failure.error.errors if isinstance(failure.error, ApiError) else []
        placed, elsewhere = place_errors(errors, self.edits)
        retype = " Secrets typed were not stored either: type them again." if self._pending else ""
        for key, text in placed.items():
            self.errors[key].setText(text)
            self.errors[key].show()
        if placed:
            self._scroll.ensureWidgetVisible(self.edits[next(iter(placed))])
            others = "".join(f" {text}." for text in elsewhere)
            self.message.setText(
                "not saved: the daemon refused a value (nothing was changed)." + others + retype
            )
        else:
            self.message.setText(f"not saved: {message}.{retype}")
        self.refused.emit("\n".join([*placed.values(), *elsewhere]) or message)

    def _save_failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.message.setText(f"not saved: {error}")
        self.refused.emit(str(error))

    def row_label(self, key: str) -> str:
        """The text the row of field ``key`` is labelled with."""
        label = self._form.labelForField(self.edits[key])
        return label.text() if isinstance(label, QLabel) else ""

    def field_text(self) -> Mapping[str, str]:
        return {key: edit.text() for key, edit in self.edits.items()}


def _load(api: ApiClient) -> _Loaded:
    schema: dict[str, Any] = api.get("/v1/settings/schema")
    settings: dict[str, Any] = api.get("/v1/settings")
    agents = api.get("/v1/agents")["agents"]
    namespaces = sorted({str(a["agent"]) for a in agents} | set(settings["settings"]["agents"]))
    return _Loaded(schema, settings, namespaces)
