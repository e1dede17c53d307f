"""Resume never unpickles: a planted checkpoint never runs code (env var or not); a truncated one is one error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cropglobe import models
from cropglobe.errors import CropGlobeError
from cropglobe.training.lightning import FitData, TrainSettings, fit_torch, load_checkpoint


class Payload:
    """Unpickling this runs ``exec``: it writes the marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({self.marker!r}, 'w').write('pwned')",))


def _plant(path, marker):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {}, "epoch": 0, "loops": Payload(str(marker))}, path)


def _tiny_fit(ckpt_dir):
    rng = np.random.default_rng(0)
    x = rng.random((24, 10, 8), dtype=np.float32)
    y = np.arange(24) % 3
    net = models.get_model("tempcnn", 10, 8, 3, seed=0)
    settings = TrainSettings(epochs=1, batch_size=8, progress=False, accelerator="cpu", devices=1)
    return fit_torch(net, FitData(x, y, x, y), 3, settings, ckpt_dir, resume=True)


@pytest.mark.parametrize("force_unpickling", [False, True])
def test_planted_checkpoint_never_runs(tmp_path, monkeypatch, force_unpickling):
    if force_unpickling:
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "pwned.txt"
    ckpt_dir = tmp_path / "checkpoints"
    _plant(ckpt_dir / "last.ckpt", marker)
    with pytest.raises(CropGlobeError, match="refusing to unpickle"):
        _tiny_fit(ckpt_dir)
    assert not marker.exists()


def test_the_payload_would_run_if_unpickled(tmp_path):
    # guards the test above: the planted file really is a code-running pickle
    marker = tmp_path / "pwned.txt"
    _plant(tmp_path / "evil.ckpt", marker)
    torch.load(tmp_path / "evil.ckpt", weights_only=False)
    assert marker.read_text() == "pwned"


def test_truncated_checkpoint_is_one_clear_error(tmp_path):
    ckpt_dir = tmp_path / "checkpoints"
    ckpt_dir.mkdir()
    torch.save({"state_dict": {"w": torch.zeros(1000)}, "epoch": 0}, ckpt_dir / "last.ckpt")
    data = (ckpt_dir / "last.ckpt").read_bytes()
    (ckpt_dir / "last.ckpt").write_bytes(data[: len(data) // 2])
    with pytest.raises(CropGlobeError, match="truncated or corrupt checkpoint.*delete"):
        _tiny_fit(ckpt_dir)


def test_plain_checkpoint_loads(tmp_path):
    torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, tmp_path / "ok.ckpt")
    assert load_checkpoint(tmp_path / "ok.ckpt")["epoch"] == 3
    torch.save([1, 2], tmp_path / "list.ckpt")
    with pytest.raises(CropGlobeError, match="not a Lightning checkpoint"):
        load_checkpoint(tmp_path / "list.ckpt")
