"""Tests for cropglobe.sources.emit.search: earthaccess really attempts, and fails clearly offline.

Network isolation does not depend on the machine: requests go through a proxy on localhost that
either refuses connections or accepts and never answers, so the tests behave the same with or
without internet and cannot hang (every request carries a short timeout).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources.emit import search


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[None]:
    """Route HTTP(S) through a closed local port and remove any Earthdata credentials."""
    with socket.socket() as s:  # find a free port, then close it: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(var, f"http://127.0.0.1:{port}")
    for var in ("NO_PROXY", "no_proxy", "EARTHDATA_USERNAME", "EARTHDATA_PASSWORD", "EARTHDATA_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "no.netrc"))
    yield


def test_search_offline_fails_with_one_clear_error(offline):
    with pytest.raises(CropGlobeError, match=r"cannot reach NASA CMR \(cmr.earthdata.nasa.gov\).*needs the internet"):
        search.search((2.0, 47.0, 3.0, 48.0), "2023-05-01", "2023-11-30", count=5)


def test_search_against_a_silent_server_times_out(monkeypatch, tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # accepts connections (kernel backlog) but never answers
        proxy = f"http://127.0.0.1:{server.getsockname()[1]}"
        for var in ("HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(var, proxy)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        start = time.monotonic()
        with pytest.raises(CropGlobeError, match="Timeout"):
            search.search((2.0, 47.0, 3.0, 48.0), "2023-05-01", "2023-11-30", timeout=0.5)
        assert time.monotonic() - start < 60  # bounded by the timeout, not a hang (generous margin)


def test_download_without_credentials_fails_clearly(offline, tmp_path):
    with pytest.raises(CropGlobeError, match="no NASA Earthdata Login credentials; set EARTHDATA_USERNAME"):
        search.download(["https://data.lpdaac.earthdatacloud.nasa.gov/EMIT_L2A_RFL_001.nc"], tmp_path / "dl")
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())


def test_download_with_credentials_but_no_network_fails_clearly(offline, monkeypatch, tmp_path):
    monkeypatch.setenv("EARTHDATA_USERNAME", "someone")
    monkeypatch.setenv("EARTHDATA_PASSWORD", "not-a-password")
    with pytest.raises(CropGlobeError, match=r"cannot reach NASA Earthdata Login \(urs.earthdata.nasa.gov\)"):
        search.download(["https://data.lpdaac.earthdatacloud.nasa.gov/EMIT_L2A_RFL_001.nc"], tmp_path / "dl")
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())


@pytest.mark.parametrize("bbox,start,end,message", [
    ((3.0, 47.0, 2.0, 48.0), "2023-05-01", "2023-11-30", "west < east"),
    ((2.0, 47.0, 3.0), "2023-05-01", "2023-11-30", "four numbers"),
    (("a", 47.0, 3.0, 48.0), "2023-05-01", "2023-11-30", "four numbers"),
    ((2.0, 47.0, 3.0, 48.0), "May", "2023-11-30", "expected ISO dates"),
    ((2.0, 47.0, 3.0, 48.0), "2023-11-30", "2023-05-01", "before start"),
])
def test_bad_queries_fail_before_any_request(offline, bbox, start, end, message):
    with pytest.raises(CropGlobeError, match=message):
        search.search(bbox, start, end)


def test_download_needs_urls(tmp_path):
    with pytest.raises(CropGlobeError, match="no granule URLs"):
        search.download([], tmp_path)
