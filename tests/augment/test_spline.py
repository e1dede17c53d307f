"""Torch cubic splines against scipy.interpolate.CubicSpline, and their error cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.interpolate import CubicSpline

from cropglobe.augment.spline import evaluate, spline_basis, uniform_knots_basis
from cropglobe.errors import CropGlobeError


@settings(max_examples=40, deadline=None)
@given(k=st.integers(4, 12), seed=st.integers(0, 2**31 - 1),
       boundary=st.sampled_from(["not-a-knot", "natural"]))
def test_matches_scipy_on_random_knots(k: int, seed: int, boundary: str) -> None:
    rng = np.random.default_rng(seed)
    xk = np.cumsum(rng.uniform(0.2, 3.0, k))
    yk = rng.normal(1.0, 0.5, (3, k))
    xe = np.linspace(xk[0] - 1.0, xk[-1] + 1.0, 57)  # includes extrapolation beyond both ends
    want = CubicSpline(xk, yk.T, bc_type=boundary)(xe).T
    got = evaluate(torch.tensor(xk), torch.tensor(yk), torch.tensor(xe), boundary).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_natural_with_two_knots_is_a_line() -> None:
    got = evaluate(torch.tensor([0.0, 4.0]), torch.tensor([[1.0, 3.0]], dtype=torch.float64),
                   torch.tensor([0.0, 1.0, 2.0, 4.0]), "natural")
    np.testing.assert_allclose(got.numpy(), [[1.0, 1.5, 2.0, 3.0]])


def test_uniform_basis_interpolates_knots_and_is_a_partition_of_unity() -> None:
    basis = uniform_knots_basis(5, 41, "not-a-knot", "cpu", torch.float64)  # knots on bins 0,10,..,40
    assert basis.shape == (5, 41)
    np.testing.assert_allclose(basis.sum(0).numpy(), 1.0, atol=1e-12)
    np.testing.assert_allclose(basis[:, ::10].numpy(), np.eye(5), atol=1e-12)


@pytest.mark.parametrize(("knots", "boundary", "match"), [
    ([0.0, 1.0, 2.0], "not-a-knot", "at least 4 knots"),
    ([0.0], "natural", "at least 2 knots"),
    ([0.0, 2.0, 1.0, 3.0], "natural", "strictly increasing"),
    ([0.0, 1.0, 2.0, 3.0], "clamped", "boundary 'clamped' is unknown"),
])
def test_bad_spline_arguments(knots: list[float], boundary: str, match: str) -> None:
    with pytest.raises(CropGlobeError, match=match):
        spline_basis(torch.tensor(knots), torch.tensor([0.5]), boundary)  # type: ignore[arg-type]
