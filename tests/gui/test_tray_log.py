"""The tray's log file keeps one backup past 1 MB and goes on in a fresh file."""

from __future__ import annotations

import logging
from pathlib import Path

from gui.tray_log import start_logging


def test_past_a_megabyte_the_log_moves_to_its_backup_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tray.log"
    assert start_logging(path) == path
    logger = logging.getLogger("shepherd.tray")
    try:
        for index in range(2500):
            logger.info("line %05d %s", index, "x" * 500)
        logger.info("the last line")
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    backup = path.with_name("tray.log.1")
    assert backup.exists() and 1_000_000 <= backup.stat().st_size < 1_100_000
    assert "the last line" in path.read_text()
    assert "line 02499" in path.read_text() + backup.read_text()
    assert not path.with_name("tray.log.2").exists()
