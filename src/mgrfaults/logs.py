"""Logging for workflow scripts: to the rule's log file (and stderr), one format everywhere."""

from __future__ import annotations

import logging
import sys


def setup_script_logging(log_paths=(), level: int = logging.INFO) -> logging.Logger:
    """Send log records of the ``mgrfaults`` loggers to the rule's log file(s) and stderr.

    An exception that ends the script is logged there too, with its traceback.

    Parameters
    ----------
    log_paths : sequence of str
        ``snakemake.log`` (may be empty).
    """
    handlers = [logging.StreamHandler(sys.stderr)] + [logging.FileHandler(p, mode="w") for p in log_paths]
    logging.basicConfig(level=level, handlers=handlers, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    log = logging.getLogger("mgrfaults")

    def log_uncaught(exc_type, exc, tb):
        # the rule's log file then says why the job failed, not only Snakemake's console
        log.critical("failed: %s", exc, exc_info=(exc_type, exc, tb))

    sys.excepthook = log_uncaught
    return log
