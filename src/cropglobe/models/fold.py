"""Batch norms folded into the layer before them, for inference.

In eval mode a batch norm (Ioffe & Szegedy, ICML 2015) is a fixed affine map per channel, so a
convolution or linear layer followed by one is a single layer of the same shape
(``torch.nn.utils.fusion.fuse_conv_bn_eval`` / ``fuse_linear_bn_eval``). The folded network computes
the same logits to float rounding with one pass over the activations fewer per normalised layer; the
``map --fast`` student is written this way (:mod:`cropglobe.mapping.student`).
"""

from __future__ import annotations

from torch import nn

_WEIGHTED = (nn.Conv1d, nn.Linear)


def fold_batch_norm(trained: nn.Module, folded: nn.Module) -> nn.Module:
    """Copy ``trained`` into ``folded`` (the same architecture built without batch norms), folding each in.

    Every ``Conv1d`` / ``Linear`` of ``trained`` that a ``BatchNorm1d`` directly follows (in module
    order) is fused with it; the weighted layers are then copied, in order, into ``folded``'s.

    Args:
        trained: The trained network (put in eval mode here).
        folded: The same registry model built with ``batch_norm=False``.

    Returns:
        ``folded``, in eval mode.

    Raises:
        ValueError: When the two networks' weighted layers differ in number or shape.
    """
    import torch
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    leaves = [m for m in trained.eval().modules() if not list(m.children())]
    fused = []
    for i, m in enumerate(leaves):
        if not isinstance(m, _WEIGHTED):
            continue
        bn = leaves[i + 1] if i + 1 < len(leaves) and isinstance(leaves[i + 1], nn.BatchNorm1d) else None
        fused.append(m if bn is None else
                     (fuse_conv_bn_eval if isinstance(m, nn.Conv1d) else fuse_linear_bn_eval)(m, bn))
    targets = [m for m in folded.modules() if isinstance(m, _WEIGHTED)]
    if [m.weight.shape for m in fused] != [m.weight.shape for m in targets]:
        raise ValueError("fold_batch_norm: the networks' weighted layers differ in number or shape")
    with torch.no_grad():
        for src, dst in zip(fused, targets, strict=True):
            dst.weight.copy_(src.weight)
            dst.bias.copy_(src.bias)
    return folded.eval()
