"""CropNet and CropNet-lite: exact parameter counts, shapes, training, channels_last parity."""

from __future__ import annotations

import pytest
import torch

from cropglobe.models import get_model, model_info
from cropglobe.models.cropnet import CropNet

from .conftest import train_losses


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_cropnet_has_exactly_the_papers_parameter_count():
    assert n_params(get_model("cropnet", 10, 43, 7)) == 4_689_735


def test_cropnet_lite_has_exactly_the_released_codes_parameter_count():
    model = get_model("cropnet-lite", 10, 43, 7)
    assert n_params(model) == 1_036_295
    first = model.features[0][0]
    assert first.stride == (2, 2) and all(b[0].out_channels == 128 for b in model.features)
    assert [b[-1].p for b in model.features] == [0.2, 0.3, 0.3, 0.4]


def test_cropnet_layout_is_bias_free_convs_with_strides_in_blocks_2_and_4():
    model = get_model("cropnet", 10, 43, 7)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert all(c.bias is None for c in convs) and len(convs) == 8
    assert [c.stride[0] for c in convs] == [1, 1, 2, 1, 1, 1, 2, 1]
    assert [c.out_channels for c in convs[::2]] == [64, 128, 256, 512]


@pytest.mark.parametrize("name", ["cropnet", "cropnet-lite"])
@pytest.mark.parametrize("bands,times", [(10, 43), (4, 73), (1, 3)])
def test_any_band_and_time_count_gives_logits(name, bands, times, batch):
    model = get_model(name, bands, times, 5).eval()
    x, _ = batch(3, bands, times)
    assert model(x).shape == (3, 5)
    assert model_info(name).input_kind == "matrix"


@pytest.mark.parametrize("name", ["cropnet", "cropnet-lite"])
def test_cropnet_loss_falls_on_random_data(name, batch):
    x, y = batch(8, 10, 20)
    model = get_model(name, 10, 20, 7, seed=0)
    losses = train_losses(model, x, y, steps=6)
    assert losses[-1] < losses[0]


def test_channels_last_matches_contiguous_layout(batch):
    torch.manual_seed(3)
    a = CropNet(7, channels_last=True).eval()
    b = CropNet(7, channels_last=False).eval()
    b.load_state_dict(a.state_dict())
    x, _ = batch(4)
    assert torch.allclose(a(x), b(x), atol=1e-4)
    assert a.features[0][0].weight.is_contiguous(memory_format=torch.channels_last)


def test_seed_option_makes_initialisation_reproducible():
    a = get_model("cropnet-lite", 10, 43, 7, seed=5)
    b = get_model("cropnet-lite", 10, 43, 7, seed=5)
    c = get_model("cropnet-lite", 10, 43, 7, seed=6)
    wa, wb, wc = (m.head.weight for m in (a, b, c))
    assert torch.equal(wa, wb) and not torch.equal(wa, wc)


def test_cropnet_downsamples_a_10x43_matrix_to_5x22_then_3x11(batch):
    model = get_model("cropnet", 10, 43, 7).eval()
    h = batch(2)[0].unsqueeze(1)
    sizes = []
    with torch.no_grad():
        for block in model.features:
            h = block(h)
            sizes.append(tuple(h.shape[2:]))
    assert sizes == [(10, 43), (5, 22), (5, 22), (3, 11)]
