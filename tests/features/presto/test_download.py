"""``cropglobe download presto`` (and the older ``cropglobe presto download``).

Offline is one clear line and writes nothing; a wrong file is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cropglobe.errors import CropGlobeError
from cropglobe.features.presto import download


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


@pytest.mark.parametrize("args", [["download", "presto", "--out"], ["download", "presto", "-d"]])
def test_cropglobe_download_presto_unreachable_hub_is_one_line_exit_2(tmp_path, args):
    """No network: the hub endpoint is a closed local port, so this runs (and fails) the same everywhere."""
    code = "from cropglobe.cli import main; main()"
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2",
           "HF_HUB_DOWNLOAD_TIMEOUT": "2"}
    r = subprocess.run([sys.executable, "-c", code, *args, str(tmp_path / "w.pt")], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip().count("\n") == 0 and "cannot download Presto weights nasaharvest/presto" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_cropglobe_download_rejects_unknown_items_and_misplaced_options(tmp_path):
    code = "from cropglobe.cli import main; main()"
    for args, message in ((["download", "presto", "--country", "FRA"], "--country is for the CropGlobe release"),
                          (["download"], "needs a destination folder")):
        r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert r.returncode == 2 and message in r.stderr and r.stderr.strip().count("\n") == 0, (args, r.stderr)
    # WHAT is a typed choice (issue 27): a usage error naming the values, exit 2
    r = subprocess.run([sys.executable, "-c", code, "download", "weights"], capture_output=True, text=True, timeout=300,
                       env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 2 and "'weights' is not one of 'cropglobe', 'presto'" in r.stderr, r.stderr
