"""The launch's log is a help, never a way for a command to fail: a log that cannot be opened or
written (a full disk, a read-only folder) is given up with one warning, and no traceback."""

from __future__ import annotations

import errno
import logging

from studio.cli.console import Console


class _FullDisk:
    def write(self, text):
        raise OSError(errno.ENOSPC, "No space left on device")

    writelines = write

    def close(self):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_log_folder_that_cannot_be_made_is_given_up_with_one_warning(tmp_path, capsys):
    blocked = tmp_path / "logs"
    blocked.write_text("a file where the folder should be")
    console = Console()
    console.open_log(blocked, "run")
    console.error("Error: something the user should read.")
    console.close()
    err = capsys.readouterr().err
    assert "cannot be written" in err and "Error: something the user should read." in err
    assert "Traceback" not in err and console.log_path is None


def test_a_log_the_disk_stops_taking_is_given_up_once(tmp_path, capsys):
    console = Console()
    console.open_log(tmp_path / "logs", "run")
    handlers = list(logging.getLogger().handlers)
    try:
        console._log = _FullDisk()  # the disk filled after the log was opened
        console.info("first line after the disk filled")
        console.info("second line")
        logging.getLogger("studio.test").warning("a record for the file handler")
        console.close()
    finally:
        for handler in logging.getLogger().handlers:
            if handler not in handlers:
                logging.getLogger().removeHandler(handler)
    captured = capsys.readouterr()
    assert captured.err.count("cannot be written (No space left on device)") == 1, captured.err
    assert "first line after the disk filled" in captured.out and "second line" in captured.out
    assert "Traceback" not in captured.err + captured.out
