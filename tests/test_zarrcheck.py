"""Chunk checksums of Zarr v2 stores (:mod:`cropglobe.zarrcheck`): every numcodecs checksum filter is accepted,
verified by the map's chunk reader and by :func:`~cropglobe.zarrcheck.find_corrupt_chunk`; other filters are not."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from cropglobe.errors import CropGlobeError
from cropglobe.mapping.zarrwindow import read_window
from cropglobe.zarrcheck import CORRUPT, check_store, checksum_encoding, decode_chunk, find_corrupt_chunk


def _store(path, checksum):
    """A uint16 (time, y, x) array in 2 x 2 chunks, Blosc + the given checksum filter."""
    from numcodecs import Blosc

    values = np.arange(4 * 8 * 8, dtype=np.uint16).reshape(4, 8, 8)
    ds = xr.Dataset({"v": (("time", "y", "x"), values)})
    encoding = {"v": {"chunks": (4, 4, 4), "filters": [checksum], "compressors": [Blosc("lz4", 5, Blosc.NOSHUFFLE)]}}
    ds.to_zarr(path, zarr_format=2, consolidated=True, encoding=encoding, write_empty_chunks=True)
    return values


def _flip_raw(chunk):
    """Flip a byte of a chunk stored uncompressed by Blosc (memcpy flag set: any byte past the header is data)."""
    from numcodecs import Blosc

    raw = bytearray(chunk.read_bytes())
    raw[-10] ^= 0x01
    chunk.write_bytes(bytes(raw))
    Blosc().decode(bytes(raw))  # still decodes: only the checksum can tell


def _codecs():
    from numcodecs import CRC32, CRC32C, Adler32, Fletcher32, JenkinsLookup3

    return [CRC32C(location="end"), CRC32(), Adler32(location="end"), Fletcher32(), JenkinsLookup3()]


@pytest.mark.parametrize("codec", _codecs(), ids=lambda c: c.codec_id)
def test_each_checksum_filter_is_read_and_verified(tmp_path, codec):
    values = _store(tmp_path / "s.zarr", codec)
    got = read_window(tmp_path / "s.zarr", "v", {"y": slice(2, 7)}, ("time", "y", "x"), np.dtype(np.uint16))
    np.testing.assert_array_equal(got, values[:, 2:7])
    assert find_corrupt_chunk(tmp_path / "s.zarr") is None
    _flip_raw(tmp_path / "s.zarr" / "v" / "0.1.0")
    with pytest.raises(CropGlobeError, match=r"/v: chunk file 0\.1\.0: checksum mismatch"):
        read_window(tmp_path / "s.zarr", "v", {"y": slice(2, 7)}, ("time", "y", "x"), np.dtype(np.uint16))
    found = find_corrupt_chunk(tmp_path / "s.zarr")
    assert found is not None and "chunk file 0.1.0: checksum mismatch" in str(found) and str(found).endswith(CORRUPT)


def test_find_corrupt_chunk_checks_only_the_rows_read(tmp_path):
    ds = xr.Dataset({"r": (("sample", "t"), np.arange(40, dtype=np.float32).reshape(20, 2))})
    ds.to_zarr(tmp_path / "s.zarr", zarr_format=2, consolidated=True, write_empty_chunks=True,
               encoding={"r": {"chunks": (5, 2), **checksum_encoding(np.float32)}})
    _flip_raw(tmp_path / "s.zarr" / "r" / "2.0")  # samples 10:15
    assert find_corrupt_chunk(tmp_path / "s.zarr", rows=(0, 10)) is None
    assert "chunk file 2.0" in str(find_corrupt_chunk(tmp_path / "s.zarr", rows=(5, 12)))


def test_a_checksummed_blosc_chunk_still_has_its_header_checked(tmp_path):
    ds = xr.Dataset({"r": (("sample", "t"), np.zeros((20, 2), np.float32))})
    ds.to_zarr(tmp_path / "s.zarr", zarr_format=2, consolidated=True, write_empty_chunks=True,
               encoding={"r": {"chunks": (5, 2), **checksum_encoding(np.float32)}})
    check_store(tmp_path / "s.zarr")
    chunk = tmp_path / "s.zarr" / "r" / "1.0"
    chunk.write_bytes(chunk.read_bytes()[:-3])
    with pytest.raises(CropGlobeError, match=r"chunk 1\.0 is truncated or corrupt"):
        check_store(tmp_path / "s.zarr")


def test_an_undecodable_chunk_is_named(tmp_path):
    from numcodecs import Blosc

    with pytest.raises(CropGlobeError, match=r"arr: chunk 3 is corrupt: it does not decode"):
        decode_chunk(b"\x02\x01" + bytes(30), Blosc(), [], "arr", "3")


def test_checksum_encoding_keeps_the_values_shuffle():
    enc = checksum_encoding(np.uint16)
    assert [f.codec_id for f in enc["filters"]] == ["crc32c"]
    frame = enc["compressors"][0].encode(enc["filters"][0].encode(np.arange(1000, dtype=np.uint16)))
    assert frame[3] == 2  # Blosc's header: shuffled by the values' 2 bytes, not by the checksum filter's 1
