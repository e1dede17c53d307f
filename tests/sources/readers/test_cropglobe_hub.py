"""Hub download: offline failure is one clear error and leaves nothing behind."""

from __future__ import annotations

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.sources.readers import cropglobe_hub as download
from cropglobe.sources.readers.cropglobe_hub import download_cropglobe


def test_offline_download_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there: a real connection failure
    import huggingface_hub.constants as c
    monkeypatch.setattr(c, "ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(CropGlobeError, match="cannot download dataset x-ytong/CropGlobe from the Hugging Face hub"):
        download_cropglobe(tmp_path / "cg", countries=["FRA"])
    assert list(tmp_path.iterdir()) == []


def test_country_patterns():
    assert "*_FRA_*" in download.patterns_for(["fra"])
    assert download.patterns_for(None) is None
    with pytest.raises(CropGlobeError, match="alpha-3"):
        download.patterns_for(["France"])
