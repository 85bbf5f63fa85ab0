"""Scaled dot-product attention and multi-head attention, written out (lectures 01-03).

Paper: Vaswani et al., "Attention Is All You Need", NeurIPS 2017, arXiv:1706.03762.

    Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k) + M) V

Shape legend:
    B batch, N tokens (Nq queries, Nk keys/values), D model width,
    H heads, Dh = D / H head width, Dk key width, Dv value width.

Two paths compute the same numbers (a test pins them equal):
- the explicit path: scores, scale, mask, softmax, weighted sum, one line
  each, so the attention weights can be returned and plotted;
- the fast path: `torch.nn.functional.scaled_dot_product_attention`, a fused
  kernel used by `MultiHeadAttention` whenever the weights are not asked for.

Differences from the paper:
- A fully masked row (a query that may attend to nothing) gives zero
  weights and a zero output instead of NaN, like PyTorch's fused kernel.
- Scores and softmax are computed in float32 when the inputs are float16 or
  bfloat16, so large logits stay finite.

One mask convention in the whole course: a boolean mask is True where a query
MAY attend to a key (keep), False where it may not (blocked). Why this one:
- it reads like indexing, ``x[mask]`` keeps the True entries; the causal mask
  is ``tril``, the part that stays;
- it is `F.scaled_dot_product_attention`'s convention and Hugging Face's
  (``attention_mask``/``pixel_mask`` 1 = real token or pixel), so our
  functions call the fused kernel without flipping anything;
- a padding mask becomes a *key mask* ``(B, Nk)`` True = real key, the same
  sign as every other mask here, so masks combine with ``&``.

PyTorch itself has two conventions, the trap taught in lecture 01:
`F.scaled_dot_product_attention(attn_mask=...)` takes True = may attend, and
`nn.MultiheadAttention` / `nn.Transformer*Layer` (``key_padding_mask``,
``attn_mask``, ``src_mask``, ``tgt_mask``) take True = NOT allowed. The same
bool tensor means opposite things to the two. We convert at the boundary:
``key_mask = ~key_padding_mask``, ``mask = ~attn_mask``. So that code copied
from ``nn.MultiheadAttention`` cannot silently invert a mask, our modules use
other names (``key_mask``, ``mask``) and refuse PyTorch's names with a
TypeError that says how to convert.

A float mask is added to the scores (0 = keep, -inf = block). A float mask
made only of 0s and 1s is rejected with a ValueError: added to the scores it
would block nothing, so it is almost surely a boolean mask given as floats
(use ``mask.bool()``). A float mask with any other value (0 and -inf, a bias)
is taken as additive.

Speed of the explicit path (it is the one to read, but training with
``record_attention`` or ``fast=False`` runs it too): the scale multiplies q
(Nq x Dk numbers) rather than the scores (Nq x Nk); masks fill the scores in
place; fully masked rows are looked for only when a mask is given, in the mask
rather than in the scores. `benchmarks/attention.py` compares it with the fused
kernel.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .utils import check_int

__all__ = [
    "scaled_dot_product_attention",
    "MultiHeadAttention",
    "load_from_torch_mha",
    "record_attention",
]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _check_mask(
    mask: torch.Tensor, name: str, target: tuple[int, ...], target_desc: str, bool_means: str = "may attend"
) -> None:
    """Raise unless ``mask`` is bool/float, broadcastable to ``target``, and not a float 0/1 mask.

    ``bool_means`` says what True means for this mask (for the error message).
    """
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
        raise ValueError(f"{name} must have dtype torch.bool or a floating dtype (additive), got {mask.dtype}")
    try:
        shape = torch.broadcast_shapes(tuple(mask.shape), target)
    except RuntimeError:
        shape = None
    if shape != tuple(target):
        raise ValueError(f"{name} of shape {tuple(mask.shape)} cannot be broadcast to {target_desc} {tuple(target)}")
    _check_not_zero_one(mask, name, bool_means)


def _check_not_zero_one(mask: torch.Tensor, name: str, bool_means: str) -> None:
    """Reject a float mask made only of 0s and 1s (at least one 1): almost surely a boolean mask in disguise.

    A float mask is *added* to the scores, so 1 would only nudge a score up by one
    and block nothing. The rule: a float mask is accepted when it is clearly
    additive (any value other than 0 and 1, e.g. 0 and -inf, or all zeros); one
    whose values are all 0 or 1, with some 1, raises. An additive bias that really
    is made of 0s and 1s must be added to the scores by hand.
    """
    if mask.dtype == torch.bool or mask.numel() == 0:
        return
    if bool(((mask == 0) | (mask == 1)).all()) and bool((mask == 1).any()):
        raise ValueError(
            f"{name} is a float tensor of 0s and 1s (dtype {mask.dtype}), but a float mask is ADDED to the scores "
            f"(0 = keep, -inf = block), so it would block nothing. Expected a boolean mask (True = {bool_means}) "
            f"or an additive float mask of 0 and -inf. Fix: pass {name}.bool() if 1 means '{bool_means}', "
            f"(~{name}.bool()) if 1 means the opposite, or an additive mask "
            f"torch.zeros_like({name}).masked_fill(<bool blocked>, float('-inf'))."
        )


def reject_torch_mask_names(where: str, **given) -> None:
    """Raise a TypeError if a mask was passed under a PyTorch name whose bool convention is True = NOT allowed.

    ``given`` maps PyTorch's name to ``(our name, value)``; only values that are not None raise.
    """
    for theirs, (ours, value) in given.items():
        if value is None:
            continue
        if isinstance(value, torch.Tensor) and value.dtype.is_floating_point:
            fix = f"{ours}={theirs} (a float mask is additive in both)"
        else:
            fix = f"{ours}=~{theirs}"
        raise TypeError(
            f"{where} takes {ours}= (bool True = MAY attend, the course's convention), not {theirs}= "
            f"(PyTorch's nn.MultiheadAttention name, where True = NOT allowed). The same bool tensor means the "
            f"opposite in the two conventions, so the name was changed to stop a silent inversion. "
            f"Fix: pass {fix}."
        )


def scaled_dot_product_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    is_causal: bool = False,
    scale: float | None = None,
    dropout_p: float = 0.0,
    return_attn: bool = False,
):
    """softmax(q k^T * scale + mask) v, one step per line.

    Args:
        q: (..., Nq, Dk) queries.
        k: (..., Nk, Dk) keys.
        v: (..., Nk, Dv) values, one per key.
        mask: bool (True = may attend, the course's convention) or float (added to the
            scores), broadcastable to (..., Nq, Nk). Same convention as
            `F.scaled_dot_product_attention`; a float mask of only 0s and 1s is refused.
        is_causal: query i may attend to keys 0..i only (top-left aligned, as PyTorch);
            combined with ``mask`` when both are given.
        scale: multiplies the scores; default 1 / sqrt(Dk).
        dropout_p: dropout on the attention weights (always applied when > 0, as
            PyTorch's function; modules pass 0 in eval mode).
        return_attn: also return the weights actually used, (..., Nq, Nk).

    Returns:
        out (..., Nq, Dv), or (out, attn) when ``return_attn``.
    """
    for name, t in (("q", q), ("k", k), ("v", v)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dim() < 2:
            raise ValueError(f"{name} must have at least 2 dimensions (..., N, D), got shape {tuple(t.shape)}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"q and k must have the same width (last dimension) to be compared by a dot product, "
            f"got q width {q.shape[-1]} and k width {k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(
            f"k and v must have the same number of tokens (one value per key), "
            f"got k with {k.shape[-2]} and v with {v.shape[-2]}"
        )
    if not 0.0 <= dropout_p < 1.0:
        raise ValueError(f"dropout_p must be in [0, 1), got {dropout_p}")
    Nq, Dk = q.shape[-2:]
    Nk = k.shape[-2]
    batch = torch.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    if mask is not None:
        _check_mask(mask, "mask", (*batch, Nq, Nk), "(..., Nq, Nk) =")
    scale = 1.0 / math.sqrt(Dk) if scale is None else float(scale)

    # Low-precision inputs: scores and softmax in float32 so large logits stay finite.
    work = torch.float32 if q.dtype in _LOW_PRECISION else q.dtype
    q = q.to(work) * scale  # (..., Nq, Dk)  scale folded into q: Nq*Dk products instead of Nq*Nk
    scores = q @ k.to(work).transpose(-2, -1)  # (..., Nq, Nk)  q k^T / sqrt(d)
    # `scores` is a fresh tensor that nothing else holds: the masks below fill it in place (no NxN copies).
    if mask is not None:
        full = torch.broadcast_shapes(scores.shape, mask.shape)
        if full != scores.shape:  # the mask has batch dimensions that q and k lack: give scores those dims
            scores = scores.expand(full).contiguous()  # (..., Nq, Nk)
    blocked = None  # (..., Nq, Nk) True = may NOT attend; only built when something is masked
    if is_causal:
        blocked = torch.ones(Nq, Nk, dtype=torch.bool, device=q.device).triu(1)  # (Nq, Nk) keys after the query
        scores.masked_fill_(blocked, float("-inf"))
    if mask is not None:
        if mask.dtype == torch.bool:
            masked = ~mask  # True = may NOT attend
            scores.masked_fill_(masked, float("-inf"))  # masked keys get -inf: weight exp(-inf) = 0
        else:
            scores += mask.to(work)  # additive mask
            masked = torch.isneginf(mask)  # -inf added = may NOT attend
        blocked = masked if blocked is None else blocked | masked
    # A row with every key masked is all -inf: softmax would give 0/0 = NaN. Give it zero weights instead.
    # Only a mask can do that (a causal row always keeps key 0), and the mask (often (B, 1, 1, Nk)) tells
    # which rows without reading the Nq x Nk scores.
    dead = None
    if mask is not None:
        assert blocked is not None  # set above whenever a mask is given
        dead = blocked.all(dim=-1, keepdim=True)  # (..., Nq or 1, 1) True = query may attend to nothing
        if bool(dead.any()):
            scores.masked_fill_(dead, 0.0)  # a finite row, so softmax stays finite (and its gradient too)
        else:
            dead = None
    attn = scores.softmax(dim=-1)  # (..., Nq, Nk) rows are non-negative and sum to one
    if dead is not None:
        attn = attn.masked_fill(dead, 0.0)  # not in place: softmax's backward needs its output
    if dropout_p > 0.0:
        attn = F.dropout(attn, p=dropout_p)
    attn = attn.to(v.dtype)
    out = attn @ v  # (..., Nq, Dv) weighted sum of values
    return (out, attn) if return_attn else out


# ----------------------------------------------------------------------------- multi-head attention


class MultiHeadAttention(nn.Module):
    """Multi-head attention: H attentions in parallel on learned projections, concatenated.

        head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)
        MHA(Q, K, V) = Concat(head_1, ..., head_H) W^O

    Self-attention when only ``query`` is given; cross-attention when ``key``
    (and ``value``) come from another sequence, possibly of another length
    (Nk != Nq) and width (``kdim``, ``vdim``). The per-head projections
    W_i^Q of all heads are one `nn.Linear` (``q_proj``) whose output is split
    into H heads of width Dh = D / H.

    Masks use the course's convention, bool True = MAY attend (``key_mask``
    (B, Nk): True = real key; ``mask`` (Nq, Nk): True = query i may attend to
    key j), float = added to the scores. `nn.MultiheadAttention` has the opposite
    bool convention: convert with ``~`` (see the module docstring).

    Args:
        dim: model width D (queries and output).
        num_heads: H; must divide ``dim``.
        qkv_bias: bias in the q/k/v projections.
        out_bias: bias in the output projection W^O (``nn.MultiheadAttention(bias=False)`` has none).
        kdim, vdim: widths of keys and values (default ``dim``).
        dropout: dropout on the attention weights (training only).
        fast: use `F.scaled_dot_product_attention` when weights are not asked for.
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        qkv_bias: bool = True,
        out_bias: bool = True,
        kdim: int | None = None,
        vdim: int | None = None,
        dropout: float = 0.0,
        fast: bool = True,
    ):
        super().__init__()
        dim, num_heads = check_int("dim", dim, minimum=1), check_int("num_heads", num_heads, minimum=1)
        kdim = None if kdim is None else check_int("kdim", kdim, minimum=1)
        vdim = None if vdim is None else check_int("vdim", vdim, minimum=1)
        if dim % num_heads != 0:
            raise ValueError(
                f"dim {dim} is not divisible by num_heads {num_heads} (each head gets dim / num_heads channels)"
            )
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dim, self.num_heads, self.head_dim = dim, num_heads, dim // num_heads
        self.kdim = dim if kdim is None else kdim
        self.vdim = dim if vdim is None else vdim
        self.dropout, self.fast = float(dropout), bool(fast)
        self.q_proj = nn.Linear(dim, dim, bias=qkv_bias)
        self.k_proj = nn.Linear(self.kdim, dim, bias=qkv_bias)
        self.v_proj = nn.Linear(self.vdim, dim, bias=qkv_bias)
        self.out_proj = nn.Linear(dim, dim, bias=out_bias)
        # Callbacks set by `record_attention`; a hook, not stored weights.
        self._attn_recorders: list = []

    def extra_repr(self) -> str:
        return f"dim={self.dim}, num_heads={self.num_heads}, head_dim={self.head_dim}, fast={self.fast}"

    def _merged_mask(self, B: int, Nq: int, Nk: int, key_mask, mask, dtype):
        """Both masks as one 'may attend' mask (bool) or additive mask (float), broadcastable to (B, H, Nq, Nk)."""
        H = self.num_heads
        masks = []
        if key_mask is not None:
            _check_mask(key_mask, "key_mask", (B, Nk), "(B, Nk) =", bool_means="real key (may be attended)")
            if tuple(key_mask.shape) != (B, Nk):
                raise ValueError(f"key_mask must have shape (B, Nk) = {(B, Nk)}, got {tuple(key_mask.shape)}")
            masks.append(key_mask[:, None, None, :])  # (B, 1, 1, Nk)
        if mask is not None:
            if not isinstance(mask, torch.Tensor):
                raise TypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
            if mask.dtype != torch.bool and not mask.dtype.is_floating_point:
                raise ValueError(f"mask must have dtype torch.bool or a floating dtype (additive), got {mask.dtype}")
            _check_not_zero_one(mask, "mask", "may attend")
            shape = tuple(mask.shape)
            if shape == (Nq, Nk):
                masks.append(mask[None, None])  # (1, 1, Nq, Nk)
            elif shape == (B * H, Nq, Nk):
                masks.append(mask.view(B, H, Nq, Nk))  # (B, H, Nq, Nk)  nn.MultiheadAttention's layout
            elif shape == (B, Nq, Nk):
                masks.append(mask[:, None])  # (B, 1, Nq, Nk)  one mask per sequence, shared by the heads
            elif mask.dim() == 4 and shape[0] in (1, B) and shape[1] in (1, H) and shape[2:] == (Nq, Nk):
                masks.append(mask)  # (B or 1, H or 1, Nq, Nk)
            else:
                raise ValueError(
                    f"mask must have shape (Nq, Nk) = {(Nq, Nk)}, (B*H, Nq, Nk) = "
                    f"{(B * H, Nq, Nk)}, (B, Nq, Nk) = {(B, Nq, Nk)} or (B, H, Nq, Nk) = "
                    f"{(B, H, Nq, Nk)}, got {shape}"
                )
        if not masks:
            return None
        if all(m.dtype == torch.bool for m in masks):
            keep = masks[0]
            for m in masks[1:]:
                keep = keep & m
            return keep  # True = may attend (F.scaled_dot_product_attention's convention)
        work = torch.float32 if dtype in _LOW_PRECISION else dtype
        additive = torch.zeros((), dtype=work, device=masks[0].device)
        for m in masks:
            if m.dtype == torch.bool:
                m = torch.zeros(m.shape, dtype=work, device=m.device).masked_fill(~m, float("-inf"))
            additive = additive + m.to(work)
        return additive

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor | None = None,
        value: torch.Tensor | None = None,
        *,
        key_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        return_attn: bool = False,
        key_padding_mask=None,
        attn_mask=None,
    ):
        """query (B, Nq, D), key (B, Nk, kdim), value (B, Nk, vdim) -> (B, Nq, D) [, attn (B, H, Nq, Nk)].

        ``key`` defaults to ``query`` and ``value`` to ``key`` (self-attention);
        DETR passes ``query=x+pos, key=x+pos, value=x``.

        key_mask: (B, Nk) bool, True = real key (may be attended), False = padding.
        mask: (Nq, Nk), (B, Nq, Nk), (B*H, Nq, Nk) or (B, H, Nq, Nk); bool True =
        may attend, or float added to the scores. Both given: a key is allowed only
        if both allow it. PyTorch's ``key_padding_mask``/``attn_mask`` (True = NOT
        allowed) are refused with a TypeError: pass ``key_mask=~key_padding_mask``,
        ``mask=~attn_mask`` (a float ``attn_mask`` is additive: ``mask=attn_mask``).
        """
        reject_torch_mask_names(
            type(self).__name__, key_padding_mask=("key_mask", key_padding_mask), attn_mask=("mask", attn_mask)
        )
        key = query if key is None else key
        value = key if value is None else value
        for name, t, width in (("query", query, self.dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if not isinstance(t, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
            if t.dim() != 3 or t.shape[-1] != width:
                raise ValueError(f"{name} must have shape (B, N, {width}), got {tuple(t.shape)}")
        B, Nq, D = query.shape
        Nk = key.shape[1]
        if key.shape[0] != B or value.shape[0] != B:
            raise ValueError(
                f"query, key and value must have the same batch size, got {B}, {key.shape[0]} and {value.shape[0]}"
            )
        if value.shape[1] != Nk:
            raise ValueError(f"key and value must have the same number of tokens, got {Nk} and {value.shape[1]}")
        H, Dh = self.num_heads, self.head_dim
        mask = self._merged_mask(B, Nq, Nk, key_mask, mask, query.dtype)

        q = self.q_proj(query).view(B, Nq, H, Dh).transpose(1, 2)  # (B, H, Nq, Dh)
        k = self.k_proj(key).view(B, Nk, H, Dh).transpose(1, 2)  # (B, H, Nk, Dh)
        v = self.v_proj(value).view(B, Nk, H, Dh).transpose(1, 2)  # (B, H, Nk, Dh)
        p = self.dropout if self.training else 0.0
        explicit = return_attn or bool(self._attn_recorders) or not self.fast
        if explicit:
            out, attn = scaled_dot_product_attention(q, k, v, mask, dropout_p=p, return_attn=True)
            for record in self._attn_recorders:
                record(attn)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=p)  # (B, H, Nq, Dh)
        out = out.transpose(1, 2).reshape(B, Nq, D)  # (B, Nq, H*Dh) heads concatenated
        out = self.out_proj(out)  # (B, Nq, D)  Concat(heads) W^O
        return (out, attn) if return_attn else out

    # ------------------------------------------------------------------ weights from PyTorch

    @classmethod
    def from_torch(cls, mha: nn.MultiheadAttention, *, fast: bool = True) -> "MultiHeadAttention":
        """A `MultiHeadAttention` with the weights of ``mha`` (an `nn.MultiheadAttention`).

        Masks do not carry over as they are: ``mha(..., key_padding_mask=p, attn_mask=a)`` with bool
        masks equals ``ours(..., key_mask=~p, mask=~a)``.
        """
        if not isinstance(mha, nn.MultiheadAttention):
            raise TypeError(f"mha must be a torch.nn.MultiheadAttention, got {type(mha).__name__}")
        ours = cls(
            mha.embed_dim,
            mha.num_heads,
            qkv_bias=mha.in_proj_bias is not None,
            out_bias=mha.out_proj.bias is not None,
            kdim=mha.kdim,
            vdim=mha.vdim,
            dropout=mha.dropout,
            fast=fast,
        )
        load_from_torch_mha(ours, mha)
        return ours.to(device=mha.out_proj.weight.device, dtype=mha.out_proj.weight.dtype)


@torch.no_grad()
def load_from_torch_mha(ours: MultiHeadAttention, mha: nn.MultiheadAttention) -> MultiHeadAttention:
    """Copy the weights of ``mha`` (`nn.MultiheadAttention`) into ``ours``; return ``ours``.

    PyTorch stores the three input projections stacked in ``in_proj_weight``
    (3D, D) when kdim == vdim == D, and separately otherwise. A bias that ``mha``
    lacks (``bias=False``) is zeroed in ``ours`` when ours has one; `from_torch`
    builds ours without it.
    """
    if (ours.dim, ours.num_heads, ours.kdim, ours.vdim) != (mha.embed_dim, mha.num_heads, mha.kdim, mha.vdim):
        raise ValueError(
            f"shapes differ: ours (dim, num_heads, kdim, vdim) = "
            f"{(ours.dim, ours.num_heads, ours.kdim, ours.vdim)}, nn.MultiheadAttention "
            f"{(mha.embed_dim, mha.num_heads, mha.kdim, mha.vdim)}"
        )
    if mha.bias_k is not None or mha.add_zero_attn:
        raise ValueError("nn.MultiheadAttention with add_bias_kv or add_zero_attn has no counterpart here")
    if mha.in_proj_weight is not None:
        wq, wk, wv = mha.in_proj_weight.chunk(3, dim=0)
    else:
        wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
    for lin, w in ((ours.q_proj, wq), (ours.k_proj, wk), (ours.v_proj, wv)):
        lin.weight.copy_(w)
    if mha.in_proj_bias is not None:
        if ours.q_proj.bias is None:
            raise ValueError("nn.MultiheadAttention has input biases but ours was built with qkv_bias=False")
        for lin, b in zip((ours.q_proj, ours.k_proj, ours.v_proj), mha.in_proj_bias.chunk(3)):
            lin.bias.copy_(b)
    elif ours.q_proj.bias is not None:
        for lin in (ours.q_proj, ours.k_proj, ours.v_proj):
            lin.bias.zero_()
    ours.out_proj.weight.copy_(mha.out_proj.weight)
    if mha.out_proj.bias is not None:
        if ours.out_proj.bias is None:
            raise ValueError("nn.MultiheadAttention has an output bias but ours was built with out_bias=False")
        ours.out_proj.bias.copy_(mha.out_proj.bias)
    elif ours.out_proj.bias is not None:
        ours.out_proj.bias.zero_()
    return ours


# ----------------------------------------------------------------------------- recording weights


@contextmanager
def record_attention(model: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Collect the attention weights of every `MultiHeadAttention` inside ``model``.

        with record_attention(model) as maps:
            model(x)
        maps["blocks.0.attn"]  # (B, H, Nq, Nk), detached

    Keys are module names from ``model.named_modules()`` (``""`` when ``model``
    is itself a `MultiHeadAttention`), in call order; a module called twice
    keeps its last call. While active, the explicit path runs (the fused
    kernel does not expose weights).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    maps: dict[str, torch.Tensor] = {}
    hooked = []
    for name, module in model.named_modules():
        if isinstance(module, MultiHeadAttention):

            def record(attn, name=name):
                maps.pop(name, None)
                maps[name] = attn.detach()

            module._attn_recorders.append(record)
            hooked.append((module, record))
    try:
        yield maps
    finally:
        for module, record in hooked:
            module._attn_recorders.remove(record)
