"""``cropglobe presto download``: offline is one clear line and writes nothing; a wrong file is refused."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.presto import download


def test_offline_download_is_one_clear_error(tmp_path, monkeypatch):
    import huggingface_hub.constants as c

    monkeypatch.setattr(c, "HF_HUB_OFFLINE", True)
    with pytest.raises(CropGlobeError, match="cannot download Presto weights nasaharvest/presto/default_model.pt"):
        download.download_presto(tmp_path / "w.pt")
    assert list(tmp_path.iterdir()) == []


def test_a_file_with_another_sha256_is_refused(tmp_path, monkeypatch):
    import huggingface_hub

    def fake(repo_id, filename, revision=None, local_dir=None):
        path = os.path.join(local_dir, filename)
        with open(path, "wb") as f:
            f.write(b"not presto")
        return path
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake)
    with pytest.raises(CropGlobeError, match="differs from the published Presto weights"):
        download.download_presto(tmp_path / "w.pt")
    assert not (tmp_path / "w.pt").exists()
    assert download.download_presto(tmp_path / "w.pt", sha256=None).read_bytes() == b"not presto"


def test_cli_download_offline_prints_one_line(tmp_path):
    code = "from cropglobe.cli import main; main()"
    r = subprocess.run([sys.executable, "-c", code, "presto", "download", "--dest", str(tmp_path / "w.pt")],
                       capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}, timeout=300)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "cannot download Presto weights" in r.stderr
    assert not (tmp_path / "w.pt").exists()
