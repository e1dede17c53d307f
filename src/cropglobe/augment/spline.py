"""Cubic-spline interpolation in torch, as a linear basis, for batched magnitude warping.

torch has no spline routine. With the knot abscissae fixed, a cubic interpolating spline is
linear in the knot values: ``S(x_eval) = y @ basis.T`` with ``basis`` of shape (E, K). We build
that basis once per (knots, evaluation points, boundary condition) and evaluate a whole batch of
splines with one matrix product.

Method: the second-derivative ("moment") formulation of the interpolating cubic spline, C. de Boor,
*A Practical Guide to Splines* (Springer, 1978), ch. IV, and Press et al., *Numerical Recipes*,
3rd ed. (2007), §3.3, eqs. 3.3.3 and 3.3.7. The moments ``M`` solve ``A M = D y`` (interior rows:
``h[i-1] M[i-1] + 2 (h[i-1] + h[i]) M[i] + h[i] M[i+1] = 6 (Δy[i]/h[i] - Δy[i-1]/h[i-1])``), closed
by one of two boundary conditions:

* ``"natural"``: ``M[0] = M[K-1] = 0``;
* ``"not-a-knot"``: the third derivative is continuous at the second and the penultimate knot,
  the default of :class:`scipy.interpolate.CubicSpline` (tests compare against it).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import torch

from cropglobe.errors import CropGlobeError

Boundary = Literal["not-a-knot", "natural"]
BOUNDARIES: tuple[str, ...] = ("not-a-knot", "natural")


def spline_basis(knots_x: torch.Tensor, eval_x: torch.Tensor,
                 boundary: Boundary = "not-a-knot") -> torch.Tensor:
    """Return the (E, K) matrix mapping K knot values to the spline's values at E points.

    Args:
        knots_x: Strictly increasing knot abscissae, shape (K,); K >= 4 for ``"not-a-knot"``,
            K >= 2 for ``"natural"``.
        eval_x: Evaluation points, shape (E,); points outside the knots extend the end pieces.
        boundary: ``"not-a-knot"`` (scipy's default) or ``"natural"``.

    Returns:
        float64 tensor on ``knots_x``'s device; ``values = knot_values @ basis.T``.

    Raises:
        CropGlobeError: On too few knots, non-increasing knots or an unknown boundary condition.
    """
    if boundary not in BOUNDARIES:
        raise CropGlobeError(f"spline boundary {boundary!r} is unknown; expected one of {BOUNDARIES}")
    xk = knots_x.to(torch.float64).flatten()
    xe = eval_x.to(torch.float64, copy=False).flatten().to(xk.device)
    k = xk.numel()
    need = 4 if boundary == "not-a-knot" else 2
    if k < need:
        raise CropGlobeError(f"a {boundary} cubic spline needs at least {need} knots, got {k}")
    h = torch.diff(xk)
    if not bool((h > 0).all()):
        raise CropGlobeError("spline knots must be strictly increasing")
    a = torch.zeros(k, k, dtype=torch.float64, device=xk.device)
    d = torch.zeros_like(a)
    i = torch.arange(1, k - 1, device=xk.device)
    a[i, i - 1], a[i, i], a[i, i + 1] = h[:-1], 2 * (h[:-1] + h[1:]), h[1:]
    d[i, i - 1], d[i, i], d[i, i + 1] = 6 / h[:-1], -6 / h[:-1] - 6 / h[1:], 6 / h[1:]
    if boundary == "natural":
        a[0, 0] = a[-1, -1] = 1.0
    else:  # S''' continuous at x[1]: (M1 - M0)/h0 = (M2 - M1)/h1, likewise at x[K-2]
        a[0, :3] = torch.stack([-h[1], h[0] + h[1], -h[0]])
        a[-1, -3:] = torch.stack([-h[-1], h[-2] + h[-1], -h[-2]])
    moments = torch.linalg.solve(a, d)  # (K, K): M = moments @ y
    seg = (torch.searchsorted(xk, xe, right=True) - 1).clamp(0, k - 2)
    hs = h[seg]
    wa = (xk[seg + 1] - xe) / hs  # Numerical Recipes eq. 3.3.3: A, B and the cubic terms C, D
    wb = 1.0 - wa
    lin = torch.zeros(xe.numel(), k, dtype=torch.float64, device=xk.device)
    cub = torch.zeros_like(lin)
    rows = torch.arange(xe.numel(), device=xk.device)
    lin[rows, seg], lin[rows, seg + 1] = wa, wb
    cub[rows, seg], cub[rows, seg + 1] = (wa**3 - wa) * hs**2 / 6, (wb**3 - wb) * hs**2 / 6
    return lin + cub @ moments


@lru_cache(maxsize=64)
def _uniform_basis(knots: int, count: int, boundary: str, device: str,
                   dtype: torch.dtype) -> torch.Tensor:
    xk = torch.linspace(0.0, max(count - 1.0, 1.0), knots, dtype=torch.float64)  # count 1: [0, 1]
    basis = spline_basis(xk, torch.arange(count, dtype=torch.float64), boundary)  # type: ignore[arg-type]
    return basis.to(device=device, dtype=dtype).T.contiguous()  # (K, count)


def uniform_knots_basis(knots: int, count: int, boundary: Boundary, device: torch.device | str,
                        dtype: torch.dtype) -> torch.Tensor:
    """Return the cached (K, count) basis for K knots spread evenly over bins ``0 .. count-1``.

    The first and last knots sit on the first and last bin (as in Um et al. 2017's magnitude
    warping; a one-bin window spreads them over [0, 1]); a batch of curves is
    ``knot_values @ basis``.
    """
    return _uniform_basis(int(knots), int(count), str(boundary), str(torch.device(device)), dtype)


def evaluate(knots_x: torch.Tensor, knots_y: torch.Tensor, eval_x: torch.Tensor,
             boundary: Boundary = "not-a-knot") -> torch.Tensor:
    """Evaluate a batch of cubic splines sharing knot abscissae.

    Args:
        knots_x: Knot abscissae, shape (K,).
        knots_y: Knot values, shape (..., K).
        eval_x: Evaluation points, shape (E,).
        boundary: ``"not-a-knot"`` or ``"natural"``.

    Returns:
        Spline values, shape (..., E), in ``knots_y``'s dtype and device.
    """
    basis = spline_basis(knots_x.to(knots_y.device), eval_x, boundary)
    return knots_y @ basis.T.to(knots_y.dtype)
