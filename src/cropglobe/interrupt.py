"""Honest exit codes on signals: SIGINT -> 130, SIGTERM -> 143, with one line saying what happened.

The command line installs :func:`signal_handlers` for the whole command. A signal raises
:class:`Interrupted` (a :class:`BaseException`, so no ``except Exception`` swallows it) in the
main thread; atomic writers remove their temporary output on the way out, and Lightning, which
turns a ``KeyboardInterrupt`` into a normal return, re-raises it after its own clean-up. A
transfer run keeps its finished cells and each torch cell's ``last.ckpt`` (``--resume``).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The signals a command turns into :class:`Interrupted`.
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """The process received SIGINT or SIGTERM; ``exit_code`` is the shell's ``128 + signal``."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        self.name = signal.Signals(self.signum).name
        self.exit_code = 128 + self.signum
        super().__init__(f"interrupted by {self.name}")


def _raise(signum: int, frame: FrameType | None) -> None:
    for sig in SIGNALS:  # a second Ctrl-C must not break the clean-up of the first
        signal.signal(sig, signal.SIG_IGN)
    raise Interrupted(signum)


@contextmanager
def signal_handlers() -> Iterator[None]:
    """Raise :class:`Interrupted` on SIGINT/SIGTERM inside the block (main thread only); restore after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
