"""Connecting to a Dask scheduler address a user named, with one error for anything that is not one.

``distributed.Client(address, timeout=...)`` does not always honour its timeout: at a TCP port where
something else listens (an HTTP server, say) its handshake can wait for ever, and an unknown scheme
or a TLS address without certificates raise assorted exception types. :func:`connect` runs the
connection in a daemon thread with a deadline of its own and turns every failure into a
:class:`~cropglobe.errors.CropGlobeError` naming the address and what was expected.
"""

from __future__ import annotations

import threading
from typing import Any

from cropglobe.errors import CropGlobeError

#: Seconds to wait for a scheduler to answer (the CLI's default; tests shorten it).
CONNECT_TIMEOUT_S = 20.0

EXPECTED = "expected the address of a running Dask scheduler, such as tcp://10.0.0.1:8786"


def connect(address: str, where: str, timeout: float | None = None) -> Any:
    """A ``distributed.Client`` connected to the scheduler at ``address``.

    Args:
        address: The scheduler address (``tcp://host:8786``).
        where: How the address is named in messages (``"scheduler"``, a config field).
        timeout: Seconds to wait for the scheduler (default :data:`CONNECT_TIMEOUT_S`).

    Returns:
        The connected client (the caller closes it).

    Raises:
        CropGlobeError: When the address is malformed, nothing answers, or what answers is not a
            Dask scheduler, within the timeout.
    """
    from distributed import Client

    wait = CONNECT_TIMEOUT_S if timeout is None else float(timeout)
    outcome: dict[str, Any] = {}
    lock = threading.Lock()

    def attempt() -> None:
        try:
            client = Client(address, timeout=wait)
        except Exception as err:  # distributed raises OSError, ValueError, TypeError, tornado errors ...
            outcome["error"] = err
            return
        with lock:
            outcome["client"] = client
            late = outcome.get("abandoned", False)
        if late:  # the caller has given up waiting
            client.close()

    thread = threading.Thread(target=attempt, name="cropglobe-dask-connect", daemon=True)
    thread.start()
    thread.join(wait + 2.0)
    with lock:
        outcome["abandoned"] = "client" not in outcome and "error" not in outcome
    if outcome["abandoned"]:
        raise CropGlobeError(f"{where}={address}: no Dask scheduler answered within {wait:g} s "
                             f"(something else may listen there); {EXPECTED}")
    if "error" in outcome:
        err = outcome["error"]
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise CropGlobeError(f"{where}={address}: cannot connect to a Dask scheduler "
                             f"({type(err).__name__}: {first}); {EXPECTED}")
    return outcome["client"]
