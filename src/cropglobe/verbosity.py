"""One verbosity convention for the commands: ``--quiet`` (results and errors only), default, ``--verbose``.

Third-party chatter is kept out of the default output: Lightning's hardware lines ("GPU
available", "TPU available"), its precision and "stopped" notices and the deprecation warnings
of its dependencies are silenced *while a model trains* (:func:`quiet_training`), not at import,
so a user's own logging set-up is untouched. ``--verbose`` shows them, and cropglobe's own
``INFO`` log lines.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

#: Loggers Lightning's info lines come from (rank-zero helpers) and its package loggers.
_LIGHTNING_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero",
                      "lightning_utilities.core.rank_zero", "lightning.pytorch", "lightning.fabric",
                      "pytorch_lightning.utilities.rank_zero", "pytorch_lightning")


class _BelowWarning(logging.Filter):
    """Drop records below WARNING (a filter, not a level: Lightning sets its levels when first imported)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


_state = {"verbose": False, "quiet": False}


def configure(quiet: bool = False, verbose: bool = False) -> None:
    """Set the verbosity of this process (``verbose`` wins over ``quiet``)."""
    _state["verbose"] = bool(verbose)
    _state["quiet"] = bool(quiet) and not verbose
    if verbose:
        log = logging.getLogger("cropglobe")
        if not log.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)
        log.setLevel(logging.INFO)


def is_quiet() -> bool:
    """True when ``--quiet`` was given (and not ``--verbose``): results and errors only."""
    return _state["quiet"]


@contextmanager
def quiet_training() -> Iterator[None]:
    """Silence Lightning's info lines and library deprecation warnings inside the block (unless verbose)."""
    if _state["verbose"]:
        yield
        return
    loggers = [logging.getLogger(name) for name in _LIGHTNING_LOGGERS]
    quiet = _BelowWarning()
    for lg in loggers:
        lg.addFilter(quiet)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=r".*treespec.*")
            warnings.filterwarnings(
                "ignore", message=r".*number of training batches.*smaller than the logging interval.*"
            )
            yield
    finally:
        for lg in loggers:
            lg.removeFilter(quiet)
