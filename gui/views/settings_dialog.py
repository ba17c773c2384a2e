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

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from engine.api.client import ApiClient, ApiError
from gui.settings_model import (
    SECRETS_SECTION,
    Field,
    changes_between,
    current_values,
    fields_from_schema,
    in_use_text,
    place_errors,
    secrets_from_schema,
)
from gui.views.windows_editor import WindowsEditor
from gui.worker import ApiWorker

__all__ = ["SettingsDialog"]

# red that stays readable (contrast >= 4.5:1, WCAG AA) on a light and on a dark window
_ERROR_ON_LIGHT = QColor("#b71c1c")
_ERROR_ON_DARK = QColor("#ff8a80")
_ADMIN_NOTE = "Changing these asks for an administrator's password."


def contrast(one: QColor, other: QColor) -> float:
    """The WCAG contrast ratio of two colours (1 to 21)."""

    def luminance(colour: QColor) -> float:
        def channel(value: float) -> float:
            return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

        r, g, b = (channel(c) for c in (colour.redF(), colour.greenF(), colour.blueF()))
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(one), luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def error_colour(palette: QPalette) -> QColor:
    background = palette.color(QPalette.ColorRole.Window)
    light, dark = contrast(_ERROR_ON_LIGHT, background), contrast(_ERROR_ON_DARK, background)
    return _ERROR_ON_LIGHT if light >= dark else _ERROR_ON_DARK


@dataclass
class _Loaded:
    schema: dict[str, Any]
    settings: dict[str, Any]
    namespaces: list[str]
    agents: list[dict[str, Any]]


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
        self.in_use: dict[str, QLabel] = {}
        self._rows: dict[str, QWidget] = {}  # the widget of each field's row
        self.sections: dict[str, QGroupBox] = {}
        self._forms: dict[str, QFormLayout] = {}  # section -> its form
        self._sections_layout = QVBoxLayout()
        form = QWidget()
        form.setLayout(self._sections_layout)
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
        for box in self.sections.values():
            self._sections_layout.removeWidget(box)
            box.deleteLater()
        for mapping in (self.edits, self.errors, self.fields, self.in_use, self._rows):
            mapping.clear()
        self.sections.clear()
        self._forms.clear()
        self.secret_edits.clear()
        self.secret_states.clear()
        fields = fields_from_schema(loaded.schema, loaded.namespaces)
        self._original = current_values(loaded.settings, fields)
        for section in _section_order(fields):
            admin = all(f.host_only for f in fields if f.section == section)
            self._add_section(section, admin)
        for field in fields:
            self._add_field(field, self._original.get(field.key, ""))
            self._show_in_use(field, in_use_text(field, loaded.agents))
        self._add_section(SECRETS_SECTION, True)
        stored = (loaded.settings.get("secrets") or {}).get("stored") or {}
        for name, label in secrets_from_schema(loaded.schema):
            self._add_secret(name, label, bool(stored.get(name)))
        problem = loaded.settings.get("problem")
        self.message.setText(f"settings file problem: {problem}" if problem else "")
        self.buttons.setEnabled(True)
        top = next(iter(self._forms), None)
        first = next((f for f in fields if f.section == top), None)
        if first is not None:  # the first field of the first section: the one at the top
            self.edits[first.key].setFocus()
        self.loaded.emit()

    def _add_section(self, title: str, admin: bool) -> None:
        box = QGroupBox(f"{title} — administrator" if admin else title)
        box.setObjectName(f"section:{title}")
        form = QFormLayout(box)
        if admin:
            note = QLabel(_ADMIN_NOTE)
            note.setWordWrap(True)
            form.addRow(note)
        self._sections_layout.addWidget(box)
        self.sections[title] = box
        self._forms[title] = form

    def _add_field(self, field: Field, value: str) -> None:
        edit = QLineEdit(value)
        edit.setObjectName(field.key)
        edit.setPlaceholderText(field.hint)
        edit.setToolTip(field.help)
        error = QLabel("")
        error.setObjectName(f"error:{field.key}")
        colour = error_colour(self.palette()).name()
        error.setStyleSheet(f"color: {colour}; font-weight: bold;")
        error.setWordWrap(True)
        error.hide()
        form = self._forms[field.section]
        row: QWidget = edit
        if field.kind == "windows":  # typed as text, or built in the editor
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.addWidget(edit)
            button = QPushButton("Edit…")
            button.setObjectName(f"edit:{field.key}")
            button.clicked.connect(lambda _checked=False, key=field.key: self.edit_windows(key))
            line.addWidget(button)
        form.addRow(field.label, row)
        form.addRow("", error)
        self._rows[field.key] = row
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
        self._forms[SECRETS_SECTION].addRow(label, row)
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
            first = next(iter(placed))
            QTimer.singleShot(0, self, lambda: self._scroll_to(first))  # once laid out anew
            others = "".join(f" {text}." for text in elsewhere)
            self.message.setText(
                "not saved: the daemon refused a value (nothing was changed)." + others + retype
            )
        else:
            self.message.setText(f"not saved: {message}.{retype}")
        self.refused.emit("\n".join([*placed.values(), *elsewhere]) or message)

    def _scroll_to(self, key: str) -> None:
        """The field and the whole of its error in view (the error below the field)."""
        self._scroll.ensureWidgetVisible(self.errors[key], 0, 0)
        self._scroll.ensureWidgetVisible(self.edits[key])

    def _save_failed(self, error: Exception) -> None:
        self.buttons.setEnabled(True)
        self.message.setText(f"not saved: {error}")
        self.refused.emit(str(error))

    def _show_in_use(self, field: Field, text: str | None) -> None:
        if text is None:
            return
        label = QLabel(text)
        label.setObjectName(f"in-use:{field.key}")
        label.setWordWrap(True)
        label.setToolTip("what the daemon uses now, and which setting decides it")
        self._forms[field.section].addRow("", label)
        self.in_use[field.key] = label

    def edit_windows(self, key: str) -> WindowsEditor:
        """Open the editor of the windows field ``key``; OK puts its text in the field."""
        edit = self.edits[key]
        editor = WindowsEditor(self.fields[key].label, edit.text(), self)
        editor.accepted.connect(lambda: edit.setText(editor.text()))
        editor.finished.connect(editor.deleteLater)
        editor.open()
        return editor

    def row_label(self, key: str) -> str:
        """The text the row of field ``key`` is labelled with."""
        label = self._forms[self.fields[key].section].labelForField(self._rows[key])
        return label.text() if isinstance(label, QLabel) else ""

    def section_title(self, key: str) -> str:
        """The title of the box field ``key`` is in."""
        return self.sections[self.fields[key].section].title()

    def field_text(self) -> Mapping[str, str]:
        return {key: edit.text() for key, edit in self.edits.items()}


def _load(api: ApiClient) -> _Loaded:
    schema: dict[str, Any] = api.get("/v1/settings/schema")
    settings: dict[str, Any] = api.get("/v1/settings")
    agents: list[dict[str, Any]] = api.get("/v1/agents")["agents"]
    namespaces = sorted({str(a["agent"]) for a in agents} | set(settings["settings"]["agents"]))
    return _Loaded(schema, settings, namespaces, agents)


def _section_order(fields: tuple[Field, ...]) -> list[str]:
    """Each agent's cluster first, then the host's sections in the order of their keys."""
    sections = list(dict.fromkeys(f.section for f in fields))
    return sorted(sections, key=lambda s: (not s.startswith("Cluster ("), sections.index(s)))
