"""The Presto encoder: the shipped weights load exactly, fixed inputs give fixed embeddings, masks hold."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from cropglobe.errors import CropGlobeError
from cropglobe.features.presto import encoder as enc_mod
from cropglobe.features.presto.encoder import CHANNELS, GROUPS, PrestoEncoder, decoder_shapes, load_encoder

# Produced once from this code (cropglobe.features.presto.encoder at its first commit) with:
#   .venv/bin/python -c "from tests.features.presto.test_encoder import _embed_fixed; import numpy as np; \
#     e = _embed_fixed('../shared/models/presto/default_model.pt'); print(np.round(e[:, :6], 5).tolist(), \
#     np.round(e.sum(1), 4).tolist())"
EXPECTED_FIRST6 = [[1.39052, -2.63921, 1.14687, -0.35274, -0.90805, -1.72885],
                   [1.12367, 0.17979, 1.18848, -0.33143, -0.84692, -1.07393],
                   [0.744, -4.00449, 2.82893, 0.11728, 0.10906, -0.94897]]
EXPECTED_SUMS = [-4.6656, -1.6922, -0.7987]


@pytest.fixture(scope="module")
def weights(presto_weights: Path) -> Path:
    return presto_weights


def _fixed_inputs() -> tuple[torch.Tensor, ...]:
    """3 samples x 7 months of S2-only inputs built from a fixed formula (no random numbers)."""
    t = np.arange(7, dtype=np.float32)[None, :, None]
    s = np.arange(3, dtype=np.float32)[:, None, None]
    c = np.arange(len(CHANNELS), dtype=np.float32)[None, None, :]
    x = (0.05 + 0.02 * c / 4 + 0.1 * np.sin((t + s) / 3.0) * (c > 7)).astype(np.float32)
    x = np.broadcast_to(x, (3, 7, len(CHANNELS))).copy()
    x[..., 16] = (x[..., 8] - x[..., 4]) / (x[..., 8] + x[..., 4])
    mask = np.zeros_like(x, dtype=bool)
    mask[..., [0, 1, 12, 13, 14, 15]] = True          # no S1, ERA5, SRTM
    mask[2, 3, 2:5] = True                              # one missing RGB month in sample 2
    month = (np.arange(7)[None, :] + np.array([[4], [4], [10]])) % 12
    latlon = np.array([[48.0, 2.0], [45.5, -73.5], [-30.0, 150.0]], dtype=np.float32)
    return (torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(month), torch.from_numpy(latlon))


def _embed_fixed(path: str | Path) -> np.ndarray:
    x, mask, month, latlon = _fixed_inputs()
    with torch.no_grad():
        return load_encoder(path)(x, mask, month, latlon=latlon).numpy()


def test_shipped_weights_load_with_no_missing_or_unexpected_keys(weights):
    state = torch.load(weights, map_location="cpu", weights_only=True)
    expected = {f"encoder.{k}" for k in PrestoEncoder().state_dict()} | set(decoder_shapes())
    assert set(state) == expected
    own = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    result = PrestoEncoder().load_state_dict(own, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the weights were trained with the group order of GROUPS (their channel_embed rows)
    assert [k.split(".")[2] for k in state if k.startswith("encoder.eo_patch_embed.") and k.endswith(".weight")] \
        == list(GROUPS)
    # the frozen tables in the file are the ones this code builds
    assert torch.allclose(state["encoder.pos_embed"][0], enc_mod.sinusoid_table(24, 64), atol=1e-6)
    assert torch.allclose(state["encoder.month_embed.weight"], enc_mod.month_table(32), atol=1e-6)
    model = load_encoder(weights)
    assert not model.training and not any(p.requires_grad for p in model.parameters())


def test_fixed_input_gives_fixed_embedding(weights):
    emb = _embed_fixed(weights)
    assert emb.shape == (3, 128) and emb.dtype == np.float32
    np.testing.assert_allclose(emb[:, :6], np.array(EXPECTED_FIRST6, dtype=np.float32), atol=2e-4)
    np.testing.assert_allclose(emb.sum(1), np.array(EXPECTED_SUMS, dtype=np.float32), atol=2e-3)


def test_masked_channel_groups_do_not_change_the_output(weights):
    model = load_encoder(weights)
    x, mask, month, latlon = _fixed_inputs()
    with torch.no_grad():
        ref = model(x, mask, month, latlon=latlon)
        noisy = torch.where(mask, torch.randn_like(x) * 100.0, x)
        noisy[0, 0, 0] = float("nan")  # a masked NaN (S1) is ignored too
        assert torch.equal(model(noisy, mask, month, latlon=latlon), ref)
        changed = x.clone()
        changed[:, :, 2] += 0.1        # an unmasked band does change it
        assert not torch.allclose(model(changed, mask, month, latlon=latlon), ref, atol=1e-4)


def test_a_sample_embeds_the_same_alone_and_in_a_mixed_batch(weights):
    model = load_encoder(weights)
    x, mask, month, latlon = _fixed_inputs()
    with torch.no_grad():
        batch = model(x, mask, month, latlon=latlon)
        for i in range(3):
            alone = model(x[i:i + 1], mask[i:i + 1], month[i:i + 1], latlon=latlon[i:i + 1])
            torch.testing.assert_close(alone[0], batch[i], atol=1e-5, rtol=1e-5)


def _full_state() -> dict[str, torch.Tensor]:
    state = {f"encoder.{k}": v for k, v in PrestoEncoder().state_dict().items()}
    state.update({k: torch.zeros(s) for k, s in decoder_shapes().items()})
    return state


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.update({"encoder.blocks.1.mlp.fc1.weight": torch.zeros(256, 128)}),
     r"key 'encoder.blocks.1.mlp.fc1.weight' has shape \(256, 128\); the Presto architecture expects \(512, 128\)"),
    (lambda s: s.pop("encoder.latlon_embed.bias"), r"key 'encoder.latlon_embed.bias' is missing"),
    (lambda s: s.update({"encoder.blocks.2.norm1.weight": torch.zeros(128)}),
     r"unexpected key 'encoder.blocks.2.norm1.weight'"),
])
def test_mismatched_state_dict_is_one_clear_error(tmp_path, edit, message):
    state = _full_state()
    edit(state)
    path = tmp_path / "bad.pt"
    torch.save(state, path)
    with pytest.raises(CropGlobeError, match=message):
        load_encoder(path)


def test_encoder_only_state_dicts_load_and_bad_files_are_clear(tmp_path):
    state = {k: v for k, v in _full_state().items() if k.startswith("encoder.")}
    torch.save(state, tmp_path / "enc.pt")
    assert isinstance(load_encoder(tmp_path / "enc.pt"), PrestoEncoder)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CropGlobeError, match="not a readable PyTorch state dict"):
        load_encoder(tmp_path / "junk.pt")
    with pytest.raises(CropGlobeError, match="Presto weights not found"):
        load_encoder(tmp_path / "absent.pt")


def test_tables_match_presto_definitions():
    # month m: sin(2 pi m / 12) on the first half of the dims, cos on the second (weights hold the same table)
    table = enc_mod.month_table(32)
    assert torch.allclose(table[3, :16], torch.ones(16)) and torch.allclose(table[3, 16:], torch.zeros(16), atol=1e-6)
    pos = enc_mod.sinusoid_table(24, 64)
    assert pos[0, 0] == 0 and pos[0, 1] == 1 and torch.isclose(pos[1, 0], torch.sin(torch.tensor(1.0)))
