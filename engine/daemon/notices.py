"""The daemon's notices: each goes onto the event bus (the tray shows it) and, when its kind
is one a channel wants, to the webhook and e-mail (``engine.notify``), in the background.

    notices.send("staging", "failed", "the health check failed: …")   # title from the kind

Delivery never blocks the caller: an update that notifies goes on at once, whatever the
webhook or the mail server does.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.daemon.events import EventBus
from engine.daemon.host_settings import HostSettings
from engine.errors import ShepherdError
from engine.notify import Notice, Notifier, NotifyConfig, RetryPolicy

__all__ = ["DaemonNotices"]

_log = logging.getLogger("shepherd.daemon")
# kind -> (level, title); the tray matches these titles to its notifications.on_* switches
_KIND_WORDS: dict[str, tuple[str, str]] = {
    "updated": ("info", "Agent updated"),
    "failed": ("error", "Update failed"),
    "rolled-back": ("info", "Rolled back"),
    "blocked": ("warning", "Update blocked"),
    "repaired": ("warning", "Interrupted update repaired"),
    "agent-down": ("error", "Agent down"),
}


class DaemonNotices:
    def __init__(
        self, settings: HostSettings, bus: EventBus, *, retry: RetryPolicy | None = None
    ) -> None:
        self._settings = settings
        self._bus = bus
        self.notifier = Notifier(settings.host.state_dir, self._config, retry=retry)

    def _config(self) -> NotifyConfig:
        """The channels as the settings say now (re-read after every change)."""
        host = self._settings.host
        try:
            transport = host.transport
        except ShepherdError as e:  # the proxy password cannot be read: say so, send nothing
            return NotifyConfig(problems=(f"cannot reach any channel: {e}",))
        return NotifyConfig.from_settings(host.settings, host.secrets, transport)

    def send(
        self, namespace: str | None, kind: str, message: str, *, title: str | None = None
    ) -> None:
        """Tell the tray, and the webhook and e-mail when they want ``kind`` (one of
        ``engine.notify.KINDS``). Returns at once."""
        level, default_title = _KIND_WORDS[kind]
        title = title or default_title
        self.tray_only(namespace, level, title, message, kind=kind)
        try:
            notice = Notice.new(kind, agent=namespace, title=title, message=message, level=level)
        except ShepherdError as e:
            _log.error("not sending notice %r: %s", title, e)
            return
        self.notifier.submit(notice)

    def tray_only(
        self, namespace: str | None, level: str, title: str, message: str, kind: str | None = None
    ) -> None:
        """A ``notification`` event on the bus only (a note no channel subscribes to)."""
        self._bus.publish(
            "notification", agent=namespace, level=level, title=title, message=message, notice=kind
        )

    def start(self) -> None:
        self.notifier.start()

    def stop(self) -> None:
        self.notifier.stop()

    def status(self) -> dict[str, Any]:
        """Blocking (reads the settings' secrets for the transport)."""
        return self.notifier.status()

    def send_test(self) -> dict[str, Any]:
        """Blocking: a test notice to every channel now."""
        return self.notifier.send_test()
