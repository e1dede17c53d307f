"""Search and download EMIT L2A reflectance granules from NASA Earthdata with ``earthaccess``.

Searching NASA's Common Metadata Repository (CMR) needs the internet; downloading also needs a
NASA Earthdata Login (https://urs.earthdata.nasa.gov), read by earthaccess from the environment
(``EARTHDATA_USERNAME`` + ``EARTHDATA_PASSWORD`` or ``EARTHDATA_TOKEN``) or from ``~/.netrc``
(``NETRC`` names another file). Never prompts. Without network or credentials every function
raises one :class:`~cropglobe.errors.CropGlobeError` saying which is missing.

Every CMR request carries a timeout (earthaccess sets none for searches), so an unreachable
server fails within ``timeout`` seconds instead of hanging.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
from requests.adapters import HTTPAdapter

from cropglobe.errors import CropGlobeError

#: CMR short name of the EMIT L2A estimated surface reflectance product (60 m, version 1).
SHORT_NAME = "EMITL2ARFL"
CMR_HOST = "cmr.earthdata.nasa.gov"
EDL_HOST = "urs.earthdata.nasa.gov"


@dataclass(frozen=True)
class GranuleRecord:
    """One search result: the granule id, acquisition start, cloud cover (%) and reflectance URL."""

    granule_id: str
    time: str
    cloud_cover: float
    url: str


class _TimeoutAdapter(HTTPAdapter):
    """HTTP adapter that applies a default timeout to requests sent without one."""

    def __init__(self, timeout: float, **kwargs: Any) -> None:
        self._timeout = timeout
        super().__init__(**kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def _with_timeout(session: requests.Session, timeout: float) -> requests.Session:
    adapter = _TimeoutAdapter(timeout)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def check_query(bbox: Sequence[float], start: str, end: str) -> tuple[tuple[float, float, float, float], str, str]:
    """Validate a bounding box ``(west, south, east, north)`` and an ISO date range.

    Raises:
        CropGlobeError: For a malformed box or dates, or an empty range.
    """
    try:
        box = tuple(float(v) for v in bbox)
    except (TypeError, ValueError):
        raise CropGlobeError(f"emit search: bbox {bbox!r} is not four numbers west,south,east,north") from None
    if len(box) != 4 or not np.isfinite(box).all():
        raise CropGlobeError(f"emit search: bbox {bbox!r} must be four numbers west,south,east,north")
    west, south, east, north = box
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise CropGlobeError(
            f"emit search: bbox {box} must have -180 <= west < east <= 180 and -90 <= south < north <= 90"
        )
    try:
        t0, t1 = (pd.Timestamp(datetime.fromisoformat(str(v)).replace(tzinfo=None)) for v in (start, end))
    except ValueError as err:
        raise CropGlobeError(
            f"emit search: start={start!r} / end={end!r}: expected ISO dates YYYY-MM-DD ({err})"
        ) from None
    if t1 < t0:
        raise CropGlobeError(f"emit search: end {end} is before start {start}")
    return box, t0.strftime("%Y-%m-%d"), t1.strftime("%Y-%m-%d")  # type: ignore[return-value]


def search(bbox: Sequence[float], start: str, end: str, *, count: int = 50, max_cloud: float | None = None,
           timeout: float = 10.0) -> list[GranuleRecord]:
    """Find EMIT L2A reflectance granules intersecting a box in a date range (NASA CMR).

    Args:
        bbox: ``(west, south, east, north)`` in degrees.
        start: First date (ISO).
        end: Last date (ISO).
        count: Most granules to return.
        max_cloud: Keep granules with at most this cloud cover (%), or all when None.
        timeout: Seconds per HTTP request.

    Returns:
        Granule records, reflectance NetCDF URL included.

    Raises:
        CropGlobeError: For a bad query, or when CMR cannot be reached or answers with an error.
    """
    import earthaccess

    box, t0, t1 = check_query(bbox, start, end)
    if int(count) < 1:
        raise CropGlobeError(f"emit search: count={count!r}, expected a positive number of granules")
    query = earthaccess.DataGranules().parameters(short_name=SHORT_NAME, bounding_box=box, temporal=(t0, t1))
    if max_cloud is not None:
        query = query.cloud_cover(0, float(max_cloud))
    query.session = _with_timeout(query.session, timeout)
    try:
        granules = query.get(int(count))
    except requests.exceptions.RequestException as err:
        raise CropGlobeError(
            f"emit search: cannot reach NASA CMR ({CMR_HOST}) - searching EMIT needs the internet "
            f"({type(err).__name__}: {str(err)[:200]})"
        ) from None
    except RuntimeError as err:  # earthaccess wraps CMR HTTP errors
        raise CropGlobeError(f"emit search: NASA CMR rejected the query ({str(err)[:300]})") from None
    return [_record(g) for g in granules]


def _record(granule: Any) -> GranuleRecord:
    umm = granule.get("umm", {})
    links = [u for u in granule.data_links() if "_RFL_" in u and u.endswith(".nc")] or list(granule.data_links())
    return GranuleRecord(
        granule_id=str(umm.get("GranuleUR", granule.get("meta", {}).get("native-id", ""))),
        time=str(umm.get("TemporalExtent", {}).get("RangeDateTime", {}).get("BeginningDateTime", "")),
        cloud_cover=float(umm.get("CloudCover", np.nan)),
        url=links[0] if links else "",
    )


def login() -> None:
    """Log in to NASA Earthdata from the environment or ``~/.netrc`` (never interactively).

    Raises:
        CropGlobeError: When no credentials are configured, the login server cannot be reached, or it
            rejects the credentials.
    """
    import earthaccess
    from earthaccess.exceptions import LoginAttemptFailure, LoginStrategyUnavailable

    reasons = []
    for strategy in ("environment", "netrc"):
        try:
            auth = earthaccess.login(strategy=strategy)
        except LoginStrategyUnavailable as err:
            reasons.append(str(err))
            continue
        except requests.exceptions.RequestException as err:
            raise CropGlobeError(
                f"emit download: cannot reach NASA Earthdata Login ({EDL_HOST}) - downloading EMIT needs the "
                f"internet ({type(err).__name__}: {str(err)[:200]})"
            ) from None
        except LoginAttemptFailure as err:
            raise CropGlobeError(
                f"emit download: NASA Earthdata Login rejected the credentials ({str(err)[:200]})"
            ) from None
        if auth.authenticated:
            return
    raise CropGlobeError(
        "emit download: no NASA Earthdata Login credentials; set EARTHDATA_USERNAME and EARTHDATA_PASSWORD "
        f"(or EARTHDATA_TOKEN), or add 'machine {EDL_HOST} login ... password ...' to ~/.netrc "
        f"({'; '.join(reasons)})"
    )


def download(granules: Sequence[GranuleRecord | str], out_dir: str | os.PathLike, *, threads: int = 4) -> list[Path]:
    """Download granules (records or URLs) into ``out_dir`` after logging in.

    Files are fetched into a hidden temporary folder inside ``out_dir`` and moved to their final
    names only when complete, so an interrupted download leaves no partial granule.

    Raises:
        CropGlobeError: Without credentials or network (see :func:`login`), or when a download fails.
    """
    import earthaccess

    urls = [g.url if isinstance(g, GranuleRecord) else str(g) for g in granules]
    if not urls or not all(urls):
        raise CropGlobeError("emit download: no granule URLs given (run `cropglobe data emit search` first)")
    login()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".emit-download-") as tmp:
        try:
            files = earthaccess.download(urls, local_path=tmp, threads=threads, show_progress=False,
                                         pqdm_kwargs={"exception_behaviour": "immediate"})
        except Exception as err:  # earthaccess raises bare Exception for failed downloads
            raise CropGlobeError(f"emit download: fetching {len(urls)} granule(s) failed ({type(err).__name__}: "
                                 f"{str(err)[:300]})") from None
        if len(files) != len(urls):
            raise CropGlobeError(f"emit download: got {len(files)} of {len(urls)} granules; nothing was kept")
        final = []
        for f in files:
            target = out / Path(f).name
            os.replace(f, target)
            final.append(target)
    return final
