"""The daemon's host settings and secrets: loaded at start, reloaded after a hand edit,
changed through the API (all or nothing), each change in the host's history."""

from __future__ import annotations

import logging
from typing import Any

from engine.errors import InvalidInput, SecretStoreError
from engine.settings.file import SettingsFile
from engine.settings.model import Settings
from engine.store.history import History, HistoryRecord
from engine.update.host import HostConfig, with_settings

__all__ = ["HostSettings"]

_log = logging.getLogger("shepherd.daemon")


class HostSettings:
    """Owns the daemon's current ``HostConfig``: every settings change replaces it whole, so
    a pass that already started keeps the settings it started with."""

    def __init__(self, host: HostConfig, settings_file: SettingsFile | None = None) -> None:
        self.host = host
        self.file = settings_file or SettingsFile(host.root)
        self.problem: str | None = None  # the settings file is invalid (old settings kept)
        self.secrets_problem: str | None = None

    def load(self) -> None:
        """Load the settings file at start; an invalid file stops the start (raises)."""
        self._apply(self.file.load())

    def reload_if_changed(self) -> None:
        """Pick up a hand edit. An invalid file is reported and the old settings kept."""
        if not self.file.changed_on_disk():
            return
        try:
            settings = self.file.load()
        except InvalidInput as e:
            if self.problem != f"{e} (the previous settings are still in use)":
                _log.error("settings file changed but is invalid; old settings kept: %s", e)
            self.problem = f"{e} (the previous settings are still in use)"
            return
        _log.info("settings reloaded from %s", self.file.path)
        self._apply(settings)

    def _apply(self, settings: Settings) -> None:
        self.host, self.secrets_problem = with_settings(self.host, settings)
        self.problem = None
        if self.secrets_problem:
            _log.error("secret store unavailable: %s", self.secrets_problem)

    def change(self, changes: dict[str, str | None], *, uid: int | None) -> Settings:
        """Validate and write ``changes`` (all or nothing), then use them. Blocking."""
        settings = self.file.update(changes)
        words = ", ".join(f"{k}={'(default)' if v is None else v}" for k, v in changes.items())
        self._record(
            event="settings",
            outcome="changed",
            reason="settings-changed",
            message=f"settings: {words}",
            uid=uid,
        )
        self._apply(settings)
        return settings

    def set_secret(self, name: str, value: str | None, *, uid: int | None) -> bool:
        """Store (or with None delete) a secret. Never logs or returns the value. Blocking."""
        store = self.host.secrets
        if store is None:
            raise SecretStoreError(f"no secret store: {self.secrets_problem or 'not configured'}")
        if value is None:
            changed = store.delete(name)
        else:
            store.set(name, value)
            changed = True
        self._record(
            event="secret",
            outcome="changed" if changed else "unchanged",
            reason="secret-stored" if value is not None else "secret-deleted",
            message=f"secret {name!r} {'stored' if value is not None else 'deleted'} "
            f"in the {store.backend_name} keyring",
            uid=uid,
        )
        return changed

    def secrets_status(self, agents: tuple[str, ...]) -> dict[str, Any]:
        store = self.host.secrets
        if store is None:
            return {
                "backend": self.host.settings.get_choice("secrets.backend"),
                "available": False,
                "problem": self.secrets_problem,
                "stored": {},
            }
        return {
            "backend": store.backend_name,
            "available": True,
            "problem": None,
            "stored": store.status(agents),
        }

    def _record(self, **fields: Any) -> None:
        History(self.host.state_dir).record(HistoryRecord.now(agent="(host)", **fields))
