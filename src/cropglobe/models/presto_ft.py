"""``presto-ft``: Presto's pretrained encoder fine-tuned end to end with a linear classification head.

Source: Tseng et al., "Lightweight, Pre-trained Transformers for Remote Sensing Timeseries"
(arXiv:2304.14065), Sec. 5: for fine-tuning, a linear layer on the encoder's pooled 128-d output,
trained with the encoder. The encoder is :class:`cropglobe.features.presto.encoder.PrestoEncoder`.

Inputs: the ``presto-input`` feature family (:func:`cropglobe.features.presto.inputs.presto_input`), one
float32 row per pixel packing the normalised monthly channels, their masks, the month index and the
location (:func:`cropglobe.features.presto.inputs.pack`). The model is therefore a ``vector`` model of the
registry (``n_bands`` = row width, ``n_times`` = 1) and goes through the same Lightning trainer,
checkpointing, saving, ``cropglobe predict`` and ``cropglobe map`` as every other torch model; the
encoder unpacks the row itself, so map blocks and sample tables are turned into inputs by the
recipe's feature family alone.

Pretrained weights: the registry calls :func:`init_pretrained` when it builds a *new* model (never
when it loads a saved one, whose file holds the fine-tuned encoder): the ``weights`` option, else
``$CROPGLOBE_PRESTO_WEIGHTS``, else the file ``cropglobe data download presto`` writes
(:func:`cropglobe.features.presto.embed.resolve_weights`), checked key by key
(:func:`cropglobe.features.presto.encoder.load_encoder`, ``weights_only``). The file's sha256 is recorded in
the model's options (``weights_sha256``), hence in the saved model and in the cell's recipe; a
recorded sha256 refuses other weights when a model is built from it again.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cropglobe.features.presto.encoder import CHANNELS, PrestoEncoder
from cropglobe.features.presto.inputs import steps_of_width


class PrestoClassifier(nn.Module):
    """Presto encoder + dropout + linear head over packed Presto inputs (N, 35 T + 3).

    Args:
        n_features: Width of the packed rows (fixes the number of monthly steps T).
        n_classes: Output logits.
        dropout: Dropout on the 128-d embedding before the head.
    """

    def __init__(self, n_features: int, n_classes: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.n_features, self.steps = n_features, steps_of_width(n_features)
        self.encoder = PrestoEncoder()
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.dim, n_classes)

    def unpack(self, v: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Packed rows (N, F) -> ``x, mask, month, latlon, latlon_mask`` as :class:`PrestoInputs` holds them."""
        n, t, c = v.shape[0], self.steps, len(CHANNELS)
        x = v[:, :t * c].reshape(n, t, c)
        mask = v[:, t * c:2 * t * c].reshape(n, t, c) > 0.5
        month = v[:, 2 * t * c:2 * t * c + t].round().long()
        latlon = v[:, -3:-1]
        return x, mask, month, latlon, v[:, -1] > 0.5

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        """Logits (N, n_classes) of packed inputs (N, F) (or (N, F, 1), flattened)."""
        v = v.flatten(1)
        if v.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} packed Presto values per sample, got {v.shape[1]}")
        x, mask, month, latlon, latlon_mask = self.unpack(v.float())
        emb = self.encoder(x, mask, month, latlon=latlon, latlon_mask=latlon_mask)
        return self.head(self.dropout(emb))


def presto_ft(n_bands: int, n_times: int, n_classes: int, weights: str | None = None,
              weights_sha256: str | None = None, dropout: float = 0.0) -> PrestoClassifier:
    """Build the (not yet initialised) fine-tuning model; ``weights`` are read by :func:`init_pretrained`.

    Args:
        n_bands: Packed input width (the ``presto-input`` family's row width).
        n_times: 1 (vector inputs).
        n_classes: Output classes.
        weights: Presto ``default_model.pt`` to start from (default: see the module docstring).
        weights_sha256: The weights' sha256 (recorded; other weights are refused).
        dropout: Dropout on the embedding before the linear head.
    """
    return PrestoClassifier(n_bands * n_times, n_classes, dropout)


def init_pretrained(model: PrestoClassifier, options: dict[str, Any]) -> dict[str, Any]:
    """Copy the pretrained encoder weights into ``model``; return the options to record (path, sha256).

    Raises:
        CropGlobeError: For missing weights, a state dict that does not match the architecture
            (the first mismatched key is named) or weights other than a recorded ``weights_sha256``.
    """
    from cropglobe.features.presto.embed import check_sha, file_sha256, resolve_weights
    from cropglobe.features.presto.encoder import load_encoder

    path = resolve_weights(options.get("weights"))
    sha = file_sha256(path)
    check_sha(path, sha, options.get("weights_sha256"))
    model.encoder.load_state_dict(load_encoder(path).state_dict(), strict=True)
    return {**options, "weights": str(path), "weights_sha256": sha}
