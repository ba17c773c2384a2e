"""The tray's own log: what it showed, what it was asked to do and what came of it, in a
small rotating file under the user's state directory ("Open log" opens it).

    path = start_logging(None)   # $XDG_STATE_HOME/shepherd/tray.log (~/.local/state/...)
    log = logging.getLogger("shepherd.tray")
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["default_log_path", "start_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(message)s"
_MAX_BYTES = 1_000_000


class _OneBackupFileHandler(logging.FileHandler):
    """Past ``_MAX_BYTES`` the file becomes ``<name>.1`` (replacing the one before) and a new
    one starts: logging.handlers' RotatingFileHandler does the same, but that module (it
    imports pickle, socket, queue...) costs the tray ~2 MB resident."""

    def emit(self, record: logging.LogRecord) -> None:
        if self.stream is not None and self.stream.tell() >= _MAX_BYTES:
            self.stream.close()
            self.stream = None
            Path(self.baseFilename).replace(self.baseFilename + ".1")
        super().emit(record)  # opens the file again when it has none


def default_log_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "shepherd" / "tray.log"


def start_logging(path: Path | None) -> Path | None:
    """Log ``shepherd.tray`` to ``path`` (default: ``default_log_path()``); None when the
    file cannot be opened (the tray then logs to stderr only, and says so there)."""
    target = path or default_log_path()
    logger = logging.getLogger("shepherd.tray")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handler: logging.Handler = _OneBackupFileHandler(target, encoding="utf-8")
    except OSError as e:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
        logger.warning("cannot write the tray log %s: %s", target, e)
        return None
    handler.setFormatter(logging.Formatter(_FORMAT))
    logger.addHandler(handler)
    return target
