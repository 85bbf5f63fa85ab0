"""Transformer blocks: MLP, pre-norm and post-norm encoder blocks, and a decoder block (lecture 05).

Papers:
- Vaswani et al., "Attention Is All You Need", arXiv:1706.03762 (post-norm, decoder).
- Xiong et al., "On Layer Normalization in the Transformer Architecture",
  arXiv:2002.04745 (pre-norm: stable without learning-rate warm-up).
- Dosovitskiy et al., ViT, arXiv:2010.11929 (pre-norm blocks with a GELU MLP).
- Carion et al., DETR, arXiv:2005.12872 (post-norm blocks; positions added to
  queries and keys at every layer, never to values).

    PreNormBlock:  x = x + MHSA(LN(x));   x = x + MLP(LN(x))
    PostNormBlock: x = LN(x + MHSA(x));   x = LN(x + MLP(x))

Shape legend: B batch, N tokens, D width, H heads, Q object queries (decoder),
M memory tokens (the encoder's output).

Differences from the papers: none in the maths. Each block can copy the
weights of the matching PyTorch layer (`from_torch`) and then computes the
same numbers (tests pin this).
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .attention import MultiHeadAttention, load_from_torch_mha, reject_torch_mask_names
from .utils import check_int

__all__ = ["MLP", "PreNormBlock", "PostNormBlock", "DecoderBlock"]

_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "relu": nn.ReLU,
    "silu": nn.SiLU,
}


def _activation(name: str) -> nn.Module:
    if name not in _ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(_ACTIVATIONS)}, got {name!r}")
    return _ACTIVATIONS[name]()


def _hidden(dim: int, mlp_ratio: float, mlp_dim: int | None) -> int:
    if mlp_dim is not None:
        return check_int("mlp_dim", mlp_dim, minimum=1)
    if not mlp_ratio > 0:
        raise ValueError(f"mlp_ratio must be > 0, got {mlp_ratio!r}")
    return max(1, int(dim * mlp_ratio))


def _activation_name(layer: nn.Module) -> str:
    """``"gelu"`` or ``"relu"``: the activation of a PyTorch Transformer layer (for ``from_torch``)."""
    act = layer.activation
    if act is torch.nn.functional.gelu or isinstance(act, nn.GELU):
        return "gelu"
    if act is torch.nn.functional.relu or isinstance(act, nn.ReLU):
        return "relu"
    raise ValueError(f"layer.activation must be relu or gelu, got {act!r}")


class MLP(nn.Module):
    """Position-wise feed-forward network, the same two layers applied to every token.

    MLP(x) = fc2(dropout(act(fc1(x))))   (B, N, D) -> (B, N, hidden) -> (B, N, out_dim)
    """

    def __init__(
        self, dim: int, hidden_dim: int, out_dim: int | None = None, *, activation: str = "gelu", dropout: float = 0.0
    ):
        super().__init__()
        out_dim = dim if out_dim is None else out_dim
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.act = _activation(activation)
        self.drop1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(hidden_dim, out_dim)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.act(self.fc1(x)))  # (B, N, hidden)
        return self.drop2(self.fc2(x))  # (B, N, out_dim)


class _EncoderBlock(nn.Module):
    """Shared constructor and weight copy of the two encoder blocks (they differ only in `forward`).

    ``dropout`` acts on the attention output, the MLP and its output;
    ``attn_dropout`` on the attention weights, ``None`` meaning "the same as
    ``dropout``" (one rate for both, as `nn.TransformerEncoderLayer` has it;
    ViT keeps them apart, with attention dropout 0 in the paper's configs).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        mlp_ratio: float = 4.0,
        mlp_dim: int | None = None,
        activation: str = "gelu",
        qkv_bias: bool = True,
        dropout: float = 0.0,
        attn_dropout: float | None = None,
        norm_eps: float = 1e-5,
        fast: bool = True,
    ):
        super().__init__()
        attn_dropout = dropout if attn_dropout is None else attn_dropout
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.attn = MultiHeadAttention(dim, num_heads, qkv_bias=qkv_bias, dropout=attn_dropout, fast=fast)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = MLP(dim, _hidden(dim, mlp_ratio, mlp_dim), activation=activation, dropout=dropout)

    def _refuse_torch_names(self, key_padding_mask, src_key_padding_mask, attn_mask, src_mask):
        """PyTorch's mask names mean the opposite (True = NOT allowed): refuse them, naming ours."""
        reject_torch_mask_names(
            type(self).__name__,
            key_padding_mask=("key_mask", key_padding_mask),
            src_key_padding_mask=("key_mask", src_key_padding_mask),
            attn_mask=("mask", attn_mask),
            src_mask=("mask", src_mask),
        )

    def _attend(self, h, pos, key_mask, mask, return_attn):
        """Self-attention on h, positions added to queries and keys only."""
        qk = h if pos is None else h + pos
        return self.attn(qk, qk, h, key_mask=key_mask, mask=mask, return_attn=return_attn)

    @classmethod
    def from_torch(cls, layer: nn.TransformerEncoderLayer, *, fast: bool = True):
        """A block with the weights of ``layer`` (`nn.TransformerEncoderLayer`).

        Pre- or post-norm must match ``layer.norm_first``; the activation must be ReLU or GELU.
        """
        if not isinstance(layer, nn.TransformerEncoderLayer):
            raise TypeError(f"layer must be a torch.nn.TransformerEncoderLayer, got {type(layer).__name__}")
        want_pre = cls is PreNormBlock
        if layer.norm_first != want_pre:
            raise ValueError(f"{cls.__name__} needs norm_first={want_pre}, got norm_first={layer.norm_first}")
        name = _activation_name(layer)
        sa = layer.self_attn
        block = cls(
            sa.embed_dim,
            sa.num_heads,
            mlp_dim=layer.linear1.out_features,
            activation=name,
            qkv_bias=sa.in_proj_bias is not None,
            dropout=layer.dropout.p,
            norm_eps=layer.norm1.eps,
            fast=fast,
        )
        with torch.no_grad():
            load_from_torch_mha(block.attn, sa)
            for ours, theirs in (
                (block.norm1, layer.norm1),
                (block.norm2, layer.norm2),
                (block.mlp.fc1, layer.linear1),
                (block.mlp.fc2, layer.linear2),
            ):
                ours.load_state_dict(theirs.state_dict())
        return block.to(device=layer.linear1.weight.device, dtype=layer.linear1.weight.dtype)


class PreNormBlock(_EncoderBlock):
    """Pre-norm encoder block (ViT): the residual stream is never normalised.

        x = x + MHSA(LN1(x))      (positions, if given, added to queries and keys)
        x = x + MLP(LN2(x))

    Equals `nn.TransformerEncoderLayer(norm_first=True, batch_first=True)` given
    the same weights (`PreNormBlock.from_torch(layer)`).
    """

    def forward(
        self,
        x: torch.Tensor,
        *,
        pos: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        return_attn: bool = False,
        key_padding_mask=None,
        attn_mask=None,
        src_key_padding_mask=None,
        src_mask=None,
    ):
        """x (B, N, D) -> (B, N, D) [, attn (B, H, N, N)].

        key_mask (B, N): bool True = real token (may be attended). mask (N, N) (or a layout
        `MultiHeadAttention` takes): bool True = may attend, or float added to the scores.
        PyTorch's names (True = NOT allowed) are refused: pass ``key_mask=~key_padding_mask``.
        """
        self._refuse_torch_names(key_padding_mask, src_key_padding_mask, attn_mask, src_mask)
        a = self._attend(self.norm1(x), pos, key_mask, mask, return_attn)
        a, attn = a if return_attn else (a, None)
        x = x + self.drop(a)  # (B, N, D)  x + MHSA(LN(x))
        x = x + self.mlp(self.norm2(x))  # (B, N, D)  x + MLP(LN(x))
        return (x, attn) if return_attn else x


class PostNormBlock(_EncoderBlock):
    """Post-norm encoder block (original Transformer, DETR's encoder): normalise after each residual add.

        x = LN1(x + MHSA(x))      (positions, if given, added to queries and keys)
        x = LN2(x + MLP(x))

    Equals `nn.TransformerEncoderLayer(norm_first=False, batch_first=True)` given
    the same weights (`PostNormBlock.from_torch(layer)`).
    """

    def forward(
        self,
        x: torch.Tensor,
        *,
        pos: torch.Tensor | None = None,
        key_mask: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
        return_attn: bool = False,
        key_padding_mask=None,
        attn_mask=None,
        src_key_padding_mask=None,
        src_mask=None,
    ):
        """x (B, N, D) -> (B, N, D) [, attn (B, H, N, N)].

        key_mask (B, N): bool True = real token (may be attended). mask (N, N) (or a layout
        `MultiHeadAttention` takes): bool True = may attend, or float added to the scores.
        PyTorch's names (True = NOT allowed) are refused: pass ``key_mask=~key_padding_mask``.
        """
        self._refuse_torch_names(key_padding_mask, src_key_padding_mask, attn_mask, src_mask)
        a = self._attend(x, pos, key_mask, mask, return_attn)
        a, attn = a if return_attn else (a, None)
        x = self.norm1(x + self.drop(a))  # (B, N, D)  LN(x + MHSA(x))
        x = self.norm2(x + self.mlp(x))  # (B, N, D)  LN(x + MLP(x))
        return (x, attn) if return_attn else x


class DecoderBlock(nn.Module):
    """Post-norm decoder block (original Transformer, DETR): self-attention, cross-attention, MLP.

        q = k = tgt + query_pos
        tgt = LN1(tgt + SelfAttn(q, k, v=tgt))
        tgt = LN2(tgt + CrossAttn(q=tgt + query_pos, k=memory + memory_pos, v=memory))
        tgt = LN3(tgt + MLP(tgt))

    Equals `nn.TransformerDecoderLayer(norm_first=False, batch_first=True)` when
    both positions are None (`DecoderBlock.from_torch(layer)`).
    """

    def __init__(
        self,
        dim: int,
        num_heads: int,
        *,
        mlp_dim: int | None = None,
        mlp_ratio: float = 4.0,
        activation: str = "relu",
        dropout: float = 0.0,
        norm_eps: float = 1e-5,
        fast: bool = True,
    ):
        super().__init__()
        self.self_attn = MultiHeadAttention(dim, num_heads, dropout=dropout, fast=fast)
        self.drop1 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(dim, eps=norm_eps)
        self.cross_attn = MultiHeadAttention(dim, num_heads, dropout=dropout, fast=fast)
        self.drop2 = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(dim, eps=norm_eps)
        self.mlp = MLP(dim, _hidden(dim, mlp_ratio, mlp_dim), activation=activation, dropout=dropout)
        self.norm3 = nn.LayerNorm(dim, eps=norm_eps)

    def forward(
        self,
        tgt: torch.Tensor,
        memory: torch.Tensor,
        *,
        query_pos: torch.Tensor | None = None,
        memory_pos: torch.Tensor | None = None,
        memory_key_mask: torch.Tensor | None = None,
        self_mask: torch.Tensor | None = None,
        tgt_key_mask: torch.Tensor | None = None,
        return_attn: bool = False,
        memory_key_padding_mask=None,
        tgt_mask=None,
        tgt_key_padding_mask=None,
    ):
        """tgt (B, Q, D), memory (B, M, D) -> (B, Q, D) [, {"self": (B, H, Q, Q), "cross": (B, H, Q, M)}].

        Masks, bool True = MAY attend (the course's convention): memory_key_mask (B, M) True =
        real memory token; tgt_key_mask (B, Q) True = real target token; self_mask (Q, Q) for the
        self-attention, e.g. causal ``torch.ones(Q, Q, dtype=torch.bool).tril()``; a float mask is
        added to the scores. `nn.TransformerDecoderLayer`'s names (True = NOT allowed) are refused:
        pass ``memory_key_mask=~memory_key_padding_mask``, ``self_mask=~tgt_mask``.
        """
        reject_torch_mask_names(
            type(self).__name__,
            memory_key_padding_mask=("memory_key_mask", memory_key_padding_mask),
            tgt_mask=("self_mask", tgt_mask),
            tgt_key_padding_mask=("tgt_key_mask", tgt_key_padding_mask),
        )
        q = k = tgt if query_pos is None else tgt + query_pos  # (B, Q, D)
        a = self.self_attn(q, k, tgt, mask=self_mask, key_mask=tgt_key_mask, return_attn=return_attn)
        a, self_w = a if return_attn else (a, None)
        tgt = self.norm1(tgt + self.drop1(a))  # (B, Q, D)
        q = tgt if query_pos is None else tgt + query_pos  # (B, Q, D)
        k = memory if memory_pos is None else memory + memory_pos  # (B, M, D)
        a = self.cross_attn(q, k, memory, key_mask=memory_key_mask, return_attn=return_attn)
        a, cross_w = a if return_attn else (a, None)
        tgt = self.norm2(tgt + self.drop2(a))  # (B, Q, D)
        tgt = self.norm3(tgt + self.mlp(tgt))  # (B, Q, D)
        return (tgt, {"self": self_w, "cross": cross_w}) if return_attn else tgt

    @classmethod
    def from_torch(cls, layer: nn.TransformerDecoderLayer, *, fast: bool = True) -> "DecoderBlock":
        """A block with the weights of ``layer`` (`nn.TransformerDecoderLayer`, norm_first=False)."""
        if not isinstance(layer, nn.TransformerDecoderLayer):
            raise TypeError(f"layer must be a torch.nn.TransformerDecoderLayer, got {type(layer).__name__}")
        if layer.norm_first:
            raise ValueError("DecoderBlock is post-norm; got a layer with norm_first=True")
        name = _activation_name(layer)
        sa = layer.self_attn
        block = cls(
            sa.embed_dim,
            sa.num_heads,
            mlp_dim=layer.linear1.out_features,
            activation=name,
            dropout=layer.dropout.p,
            norm_eps=layer.norm1.eps,
            fast=fast,
        )
        with torch.no_grad():
            load_from_torch_mha(block.self_attn, layer.self_attn)
            load_from_torch_mha(block.cross_attn, layer.multihead_attn)
            for ours, theirs in (
                (block.norm1, layer.norm1),
                (block.norm2, layer.norm2),
                (block.norm3, layer.norm3),
                (block.mlp.fc1, layer.linear1),
                (block.mlp.fc2, layer.linear2),
            ):
                ours.load_state_dict(theirs.state_dict())
        return block.to(device=layer.linear1.weight.device, dtype=layer.linear1.weight.dtype)
