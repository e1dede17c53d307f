"""Input layout shared by the 2D CNNs: a (N, B, T) batch as one-channel (band x time) images."""

from __future__ import annotations

import torch


def band_time_image(x: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """Return ``x`` (N, B, T) as (N, 1, B, T), in ``channels_last`` memory format when asked.

    channels_last lets oneDNN pick its fastest convolution kernels on CPU (see the ``models``
    benchmark); the values are unchanged.
    """
    x = x.unsqueeze(1)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x
