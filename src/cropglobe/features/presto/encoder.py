"""The Presto encoder in plain PyTorch, and loading its pretrained weights safely.

Presto (Tseng et al., "Lightweight, Pre-trained Transformers for Remote Sensing Timeseries",
arXiv:2304.14065, Sec. 3) embeds a pixel's monthly time series as one token per (channel group,
month): a linear projection of the group's bands plus an embedding that concatenates a month
encoding (sinusoid of the calendar month, 32 dims), a learned channel-group embedding (32 dims) and
a sinusoidal position of the step in the sequence (64 dims). The static SRTM group gives one token
(channel embedding only), Dynamic World land cover one token per month (a class embedding; class 9
= missing), and the pixel's location one more token (a linear map of its lat/lon on the unit
sphere). Masked tokens are dropped, a 2-block pre-norm transformer (8 heads, MLP ratio 4) runs on
the rest and the encoding is ``LayerNorm(mean over the kept tokens)``: the 128-d embedding.

This module is the project's own implementation of that architecture; parameter names follow the
published state dict (``encoder.eo_patch_embed.S2_RGB.weight`` ...) so the pretrained file loads
with ``torch.load(weights_only=True)`` and a strict key and shape check. Instead of physically
removing masked tokens (which needs the same number of masked tokens in every sample) the encoder
sorts kept tokens first, trims to the longest kept length of the batch and masks the remaining
padding as attention keys and in the mean; that is the same computation for every sample.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cropglobe.errors import CropGlobeError

#: Presto's 17 normalised input channels, in order (arXiv:2304.14065, Table 1; B1, B9, B10 dropped).
CHANNELS: tuple[str, ...] = ("VV", "VH", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B11", "B12",
                             "temperature_2m", "total_precipitation", "elevation", "slope", "NDVI")

#: Channel groups -> channel indices, in the order the published weights were trained with (the
#: insertion order of ``encoder.eo_patch_embed`` in the state dict); a group's position is the row
#: of ``encoder.channel_embed`` it uses, and Dynamic World takes the row after the last group.
GROUPS: dict[str, tuple[int, ...]] = {
    "S1": (0, 1), "S2_RGB": (2, 3, 4), "S2_NIR_10m": (8,), "S2_NIR_20m": (9,), "S2_Red_Edge": (5, 6, 7),
    "S2_SWIR": (10, 11), "ERA5": (12, 13), "SRTM": (14, 15), "NDVI": (16,),
}
STATIC_GROUP = "SRTM"
#: Dynamic World classes; index ``DW_CLASSES`` means "missing" and is always masked.
DW_CLASSES = 9
EMBED_DIM = 128
MAX_STEPS = 24


def sinusoid_table(n_positions: int, dim: int, base: float = 1000.0) -> torch.Tensor:
    """Transformer sinusoid table (n_positions, dim): sin on even, cos on odd dims (Presto, base 1000)."""
    pos = np.arange(n_positions, dtype=np.float64)[:, None]
    j = np.arange(dim)
    angle = pos / np.power(base, 2 * (j // 2) / dim)
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    return torch.tensor(table, dtype=torch.float32)


def month_table(dim: int) -> torch.Tensor:
    """Month encoding (12, dim): sin(2 pi m / 12) in the first half of the dims, cos in the second."""
    angle = np.arange(12, dtype=np.float64) * (2 * np.pi / 12)
    half = dim // 2
    table = np.concatenate([np.repeat(np.sin(angle)[:, None], half, 1), np.repeat(np.cos(angle)[:, None], half, 1)], 1)
    return torch.tensor(table, dtype=torch.float32)


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection and a key-padding mask."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """Attend over the tokens of ``x`` (B, L, D); ``keep`` (B, L) bool marks valid keys (None: all)."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if keep is None else keep[:, None, None, :]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    """Two-layer GELU MLP of a transformer block."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply fc2(GELU(fc1(x)))."""
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
        """One block on (B, L, D) tokens with key mask ``keep``."""
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


class PrestoEncoder(nn.Module):
    """Presto's encoder (Tseng et al., arXiv:2304.14065): monthly pixel series -> 128-d embedding.

    Args:
        dim: Token width (128 in the published model).
        depth: Transformer blocks (2).
        heads: Attention heads (8).
        mlp_ratio: Hidden width of the block MLPs over ``dim`` (4).
        max_steps: Longest sequence the position table covers (24 months).
    """

    def __init__(self, dim: int = EMBED_DIM, depth: int = 2, heads: int = 8, mlp_ratio: float = 4.0,
                 max_steps: int = MAX_STEPS) -> None:
        super().__init__()
        self.dim, self.max_steps = dim, max_steps
        channel_dim = month_dim = dim // 4
        pos_dim = dim - channel_dim - month_dim
        self.pos_embed = nn.Parameter(sinusoid_table(max_steps, pos_dim)[None], requires_grad=False)
        self.eo_patch_embed = nn.ModuleDict({g: nn.Linear(len(idx), dim) for g, idx in GROUPS.items()})
        self.dw_embed = nn.Embedding(DW_CLASSES + 1, dim)
        self.latlon_embed = nn.Linear(3, dim)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.month_embed = nn.Embedding.from_pretrained(month_table(month_dim), freeze=True)
        self.channel_embed = nn.Embedding(len(GROUPS) + 1, channel_dim)

    @staticmethod
    def cartesian(latlon: torch.Tensor) -> torch.Tensor:
        """(B, 2) degrees lat, lon -> (B, 3) point on the unit sphere."""
        rad = latlon * (math.pi / 180.0)
        lat, lon = rad[:, 0], rad[:, 1]
        return torch.stack([torch.cos(lat) * torch.cos(lon), torch.cos(lat) * torch.sin(lon), torch.sin(lat)], -1)

    def tokens(self, x: torch.Tensor, mask: torch.Tensor, month: torch.Tensor, dw: torch.Tensor,
               latlon: torch.Tensor, latlon_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """All tokens (B, L, D) and which of them are masked (B, L) bool, latlon token first."""
        b, t, _ = x.shape
        if t > self.max_steps:
            raise CropGlobeError(f"presto: {t} time steps; the encoder takes at most {self.max_steps} (months)")
        month_e = self.month_embed(month)                                   # (B, T, 32)
        pos_e = self.pos_embed[:, :t].expand(b, -1, -1)                     # (B, T, 64)
        toks, masks = [self.latlon_embed(self.cartesian(latlon))[:, None]], [latlon_mask[:, None]]
        for i, (group, idx) in enumerate(GROUPS.items()):
            chan = self.channel_embed.weight[i].expand(b, t, -1)
            tok = self.eo_patch_embed[group](x[:, :, list(idx)])
            gmask = mask[:, :, list(idx)].any(dim=-1)
            if group == STATIC_GROUP:  # one token: channel embedding only, no month or position
                extra = torch.cat([torch.zeros_like(month_e[:, :1]), chan[:, :1], torch.zeros_like(pos_e[:, :1])], -1)
                tok, gmask = tok[:, :1] + extra, gmask[:, :1]
            else:
                tok = tok + torch.cat([month_e, chan, pos_e], -1)
            toks.append(tok)
            masks.append(gmask)
        chan = self.channel_embed.weight[len(GROUPS)].expand(b, t, -1)
        toks.append(self.dw_embed(dw) + torch.cat([month_e, chan, pos_e], -1))
        masks.append(dw == DW_CLASSES)
        return torch.cat(toks, 1), torch.cat(masks, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, month: torch.Tensor, dw: torch.Tensor | None = None,
                latlon: torch.Tensor | None = None, latlon_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Embed a batch of normalised monthly series.

        Args:
            x: (B, T, 17) normalised channels (:data:`CHANNELS`); masked values are ignored.
            mask: (B, T, 17) bool, True where a channel is missing (a group is masked when any of
                its channels is).
            month: (B, T) calendar month index 0-11 (0 = January) of every step.
            dw: (B, T) Dynamic World class (default: all missing, 9).
            latlon: (B, 2) latitude, longitude in degrees (default: 0, 0, masked).
            latlon_mask: (B,) bool, True to drop the location token (default: False when
                ``latlon`` is given).

        Returns:
            (B, 128) embeddings: LayerNorm of the mean over the kept tokens.
        """
        b, t, _ = x.shape
        mask = mask.bool()
        x = torch.where(mask, torch.zeros((), dtype=x.dtype, device=x.device), x)
        if dw is None:
            dw = torch.full((b, t), DW_CLASSES, dtype=torch.long, device=x.device)
        if latlon is None:
            latlon = torch.zeros(b, 2, dtype=x.dtype, device=x.device)
            latlon_mask = torch.ones(b, dtype=torch.bool, device=x.device)
        elif latlon_mask is None:
            latlon_mask = torch.zeros(b, dtype=torch.bool, device=x.device)
        latlon = torch.where(latlon_mask[:, None], torch.zeros((), dtype=x.dtype, device=x.device), latlon)
        tok, masked = self.tokens(x, mask, month.long(), dw.long(), latlon, latlon_mask.bool())
        # kept tokens first (stable: their order is kept), trimmed to the longest kept sequence
        order = torch.argsort(masked.to(torch.int8), dim=1, stable=True)
        n_keep = int((~masked).sum(1).max())
        if n_keep == 0:
            raise CropGlobeError("presto: every token of a sample is masked; expected at least one channel group")
        order = order[:, :n_keep]
        tok = torch.gather(tok, 1, order[..., None].expand(-1, -1, tok.shape[-1]))
        keep = ~torch.gather(masked, 1, order)
        key_mask = None if bool(keep.all()) else keep
        for blk in self.blocks:
            tok = blk(tok, key_mask)
        w = keep.to(tok.dtype)[..., None]
        return self.norm((tok * w).sum(1) / w.sum(1).clamp_min(1.0))


def decoder_shapes(dim: int = EMBED_DIM, depth: int = 2, mlp_ratio: float = 4.0,
                   max_steps: int = MAX_STEPS) -> dict[str, tuple[int, ...]]:
    """Parameter shapes of the published Presto decoder (``decoder.*`` keys of the full checkpoint).

    The decoder reconstructs masked inputs during pre-training and is not used for embeddings; its
    keys are only checked so that a full Presto checkpoint loads with no unexpected key.
    """
    hidden = int(dim * mlp_ratio)
    shapes: dict[str, tuple[int, ...]] = {
        "decoder.mask_token": (dim,), "decoder.pos_embed": (1, max_steps, (dim - dim // 4) // 2),
        "decoder.decoder_embed.weight": (dim, dim), "decoder.decoder_embed.bias": (dim,),
    }
    for i in range(depth):
        p = f"decoder.decoder_blocks.{i}."
        shapes.update({p + "norm1.weight": (dim,), p + "norm1.bias": (dim,),
                       p + "attn.qkv.weight": (3 * dim, dim), p + "attn.qkv.bias": (3 * dim,),
                       p + "attn.proj.weight": (dim, dim), p + "attn.proj.bias": (dim,),
                       p + "norm2.weight": (dim,), p + "norm2.bias": (dim,),
                       p + "mlp.fc1.weight": (hidden, dim), p + "mlp.fc1.bias": (hidden,),
                       p + "mlp.fc2.weight": (dim, hidden), p + "mlp.fc2.bias": (dim,)})
    shapes.update({"decoder.decoder_norm.weight": (dim,), "decoder.decoder_norm.bias": (dim,)})
    for group, idx in GROUPS.items():
        shapes[f"decoder.eo_decoder_pred.{group}.weight"] = (len(idx), dim)
        shapes[f"decoder.eo_decoder_pred.{group}.bias"] = (len(idx),)
    shapes.update({"decoder.dw_decoder_pred.weight": (DW_CLASSES, dim), "decoder.dw_decoder_pred.bias": (DW_CLASSES,),
                   "decoder.channel_embeddings.weight": (len(GROUPS) + 1, dim // 4),
                   "decoder.month_embed.weight": (12, (dim - dim // 4) // 2)})
    return shapes


def check_state_dict(state: Mapping[str, torch.Tensor], model: PrestoEncoder, where: str = "state dict") -> None:
    """Raise one :class:`CropGlobeError` naming the first key that does not match the architecture.

    ``state`` is a full Presto checkpoint (``encoder.*`` and ``decoder.*`` keys) or an
    encoder-only one (``encoder.*``, or the encoder's own keys without prefix).
    """
    expected = {f"encoder.{k}": tuple(v.shape) for k, v in model.state_dict().items()}
    full = any(str(k).startswith("decoder.") for k in state)
    if full:
        expected.update(decoder_shapes(model.dim, len(model.blocks), model.blocks[0].mlp.fc1.out_features / model.dim,
                                       model.max_steps))
    names = {k if str(k).startswith(("encoder.", "decoder.")) else f"encoder.{k}": k for k in state}
    for key, shape in expected.items():
        if key not in names:
            raise CropGlobeError(f"{where}: key {key!r} is missing; expected a Presto checkpoint "
                                 "(nasaharvest/presto default_model.pt)")
        value = state[names[key]]
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != shape:
            got = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
            raise CropGlobeError(f"{where}: key {key!r} has shape {got}; the Presto architecture expects {shape}")
    for key in names:
        if key not in expected:
            raise CropGlobeError(f"{where}: unexpected key {key!r}; expected a Presto checkpoint "
                                 "(nasaharvest/presto default_model.pt)")


def load_encoder(path: str | os.PathLike, device: str | torch.device = "cpu") -> PrestoEncoder:
    """Build :class:`PrestoEncoder` and load pretrained weights from ``path`` (eval mode, no grad).

    Loads with ``torch.load(weights_only=True)`` (never unpickles code) and checks every key and
    shape first (:func:`check_state_dict`).

    Raises:
        CropGlobeError: If the file is missing or unreadable, or its state dict does not match.
    """
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise CropGlobeError(f"{p}: Presto weights not found; pass the path of default_model.pt "
                             "(`cropglobe data download presto` fetches it, or set CROPGLOBE_PRESTO_WEIGHTS)")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types (UnpicklingError, RuntimeError, EOFError)
        raise CropGlobeError(f"{p}: not a readable PyTorch state dict ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    if isinstance(state, Mapping) and "state_dict" in state and isinstance(state["state_dict"], Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise CropGlobeError(f"{p}: expected a state dict (a mapping of names to tensors), got {type(state).__name__}")
    model = PrestoEncoder()
    check_state_dict(state, model, where=p)
    own = {}
    for k, v in state.items():
        k = str(k)
        if k.startswith("encoder."):
            own[k[len("encoder."):]] = v
        elif not k.startswith("decoder."):
            own[k] = v
    model.load_state_dict(own, strict=True)
    return model.to(device).eval().requires_grad_(False)
