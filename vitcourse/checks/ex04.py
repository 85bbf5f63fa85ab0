"""Checks for exercises/04_positional_encoding.ipynb: 1D sinusoidal, the offset rotation, 2D grid encoding.

Conventions (stated in the exercise notebook):
- 1D, interleaved as in "Attention Is All You Need" (arXiv:1706.03762), eq. in section 3.5:
  ``PE[p, 2i] = sin(p * w_i)``, ``PE[p, 2i+1] = cos(p * w_i)``, ``w_i = base ** (-2i / D)``.
- Offset map: ``PE[p + k] = M_k @ PE[p]`` with ``M_k`` block diagonal, block i =
  ``[[cos(k w_i), sin(k w_i)], [-sin(k w_i), cos(k w_i)]]``.
- 2D grid of ``grid_h x grid_w`` patches in row-major order (token ``t = y * grid_w + x``), MAE layout
  (as ``vitcourse.positional.sincos_2d``): ``omega_i = temperature ** (-i / (D/4))``, i = 0..D/4-1,
  ``out[t] = [sin(x omega) | cos(x omega) | sin(y omega) | cos(y omega)]`` (column first, then row).
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register, visible_variant


def sinusoidal_np(num_positions: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """Interleaved sin/cos encoding in float64, (num_positions, dim)."""
    p = np.arange(num_positions, dtype=np.float64)[:, None]  # (N, 1)
    w = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)  # (D/2,)
    pe = np.zeros((num_positions, dim))
    pe[:, 0::2] = np.sin(p * w)
    pe[:, 1::2] = np.cos(p * w)
    return pe


def offset_matrix_np(k: int, dim: int, base: float = 10000.0) -> np.ndarray:
    """Block-diagonal M_k with PE[p + k] = M_k @ PE[p], (dim, dim)."""
    w = base ** (-np.arange(0, dim, 2, dtype=np.float64) / dim)
    m = np.zeros((dim, dim))
    for i, wi in enumerate(w):
        c, s = np.cos(k * wi), np.sin(k * wi)
        m[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = [[c, s], [-s, c]]
    return m


def grid_2d_np(grid_h: int, grid_w: int, dim: int, temperature: float = 10000.0) -> np.ndarray:
    """MAE layout [sin x | cos x | sin y | cos y], tokens in row-major order, (grid_h * grid_w, dim)."""
    quarter = dim // 4
    omega = temperature ** (-np.arange(quarter, dtype=np.float64) / quarter)  # (D/4,)
    y = np.repeat(np.arange(grid_h), grid_w)[:, None] * omega  # (h*w, D/4) row angle of each token
    x = np.tile(np.arange(grid_w), grid_h)[:, None] * omega  # (h*w, D/4) column angle of each token
    return np.concatenate([np.sin(x), np.cos(x), np.sin(y), np.cos(y)], axis=1)


def _sinusoidal_variant(inputs, *, swapped=False, halves=False, pair_exponent=False):
    """`sinusoidal_np` with one mistake: cos at the even channels, sin and cos as two halves instead of
    interleaved, or the frequency exponent -i/D over the pair index i (the factor 2 forgotten)."""
    n, dim, base = inputs["num_positions"], inputs["dim"], inputs["base"]
    p = np.arange(n, dtype=np.float64)[:, None]
    i = np.arange(dim // 2, dtype=np.float64)
    w = base ** (-(i if pair_exponent else 2 * i) / dim)
    first, second = (np.cos, np.sin) if swapped else (np.sin, np.cos)
    if halves:
        return np.concatenate([first(p * w), second(p * w)], axis=1)
    pe = np.zeros((n, dim))
    pe[:, 0::2], pe[:, 1::2] = first(p * w), second(p * w)
    return pe


def _grid_variant(inputs, *, rows_first=False, column_major=False):
    """`grid_2d_np` with one mistake: the row angle before the column angle, or tokens in column-major order."""
    h, w, dim, temperature = inputs["grid_h"], inputs["grid_w"], inputs["dim"], inputs["temperature"]
    quarter = dim // 4
    omega = temperature ** (-np.arange(quarter, dtype=np.float64) / quarter)
    if column_major:  # token t = x * grid_h + y
        y, x = np.tile(np.arange(h), w), np.repeat(np.arange(w), h)
    else:
        y, x = np.repeat(np.arange(h), w), np.tile(np.arange(w), h)
    ax, ay = x[:, None] * omega, y[:, None] * omega
    first, second = (ay, ax) if rows_first else (ax, ay)
    return np.concatenate([np.sin(first), np.cos(first), np.sin(second), np.cos(second)], axis=1)


@register
class Sinusoidal(Check):
    name = "04.sinusoidal"
    absent = ("positional",)
    forbidden = ("vitcourse.positional",)
    target = "sinusoidal_encoding"
    rtol, atol = 1e-4, 2e-5
    mistakes = (
        ("mistake.04.sin_cos_swapped", lambda i: _sinusoidal_variant(i, swapped=True)),
        ("mistake.04.halves", lambda i: _sinusoidal_variant(i, halves=True)),
        ("mistake.04.frequency", lambda i: _sinusoidal_variant(i, pair_exponent=True)),
    )

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: other lengths (a single position too), widths and bases, as hidden ones
            n, dim, base = ((6, 8, 10000.0), (1, 4, 100.0), (9, 6, 1000.0))[visible_variant(rng, 3)]
            return {"num_positions": n, "dim": dim, "base": base}
        return {
            "num_positions": int(rng.integers(1, 60)),
            "dim": 2 * int(rng.integers(1, 17)),
            "base": float(rng.choice([100.0, 1000.0, 10000.0])),
        }

    def reference(self, inputs):
        return sinusoidal_np(**inputs)

    def compare(self, got, expected, inputs):
        return compare_arrays(got, expected, what=msg("what.encoding"), rtol=self.rtol, atol=self.atol)


@register
class OffsetMatrix(Check):
    name = "04.offset_matrix"
    absent = ("positional",)
    forbidden = ("vitcourse.positional",)
    target = "offset_matrix"
    visible_seeds = (0, 1, 2, 3)  # four visible cases: k > 1, k < 0, k = 1 and k = 0, as the hidden cases draw
    rtol, atol = 1e-4, 1e-5
    mistakes = (
        ("mistake.04.offset_transposed", lambda i: offset_matrix_np(i["k"], i["dim"], i["base"]).T),
        ("mistake.04.offset_frequency", lambda i: offset_matrix_np(i["k"], i["dim"], i["base"] ** 0.5)),
    )

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: an offset forward, backward, of one step and of none; other widths and bases
            k, dim, base = ((3, 8, 10000.0), (-2, 4, 100.0), (1, 6, 10000.0), (0, 2, 100.0))[visible_variant(rng, 4)]
            return {"k": k, "dim": dim, "base": base}
        return {
            "k": int(rng.integers(-20, 21)),
            "dim": 2 * int(rng.integers(1, 9)),
            "base": float(rng.choice([100.0, 10000.0])),
        }

    def reference(self, inputs):
        return offset_matrix_np(**inputs)

    def compare(self, got, expected, inputs):
        return compare_arrays(got, expected, what="M_k", rtol=self.rtol, atol=self.atol)


@register
class Grid2D(Check):
    name = "04.sincos_2d"
    absent = ("positional",)
    forbidden = ("vitcourse.positional",)
    target = "sincos_2d"
    rtol, atol = 1e-4, 2e-5
    mistakes = (
        ("mistake.04.grid_rows_first", lambda i: _grid_variant(i, rows_first=True)),
        ("mistake.04.grid_column_major", lambda i: _grid_variant(i, column_major=True)),
    )

    def make_inputs(self, rng, hidden):
        if not hidden:  # one per seed: wide, tall and one-row/one-column grids; other widths and temperatures
            visible = ((2, 3, 8, 10000.0), (1, 4, 4, 100.0), (3, 1, 12, 10000.0))
            h, w, dim, temperature = visible[visible_variant(rng, 3)]
            return {"grid_h": h, "grid_w": w, "dim": dim, "temperature": temperature}
        return {
            "grid_h": int(rng.integers(1, 8)),
            "grid_w": int(rng.integers(1, 8)),
            "dim": 4 * int(rng.integers(1, 9)),
            "temperature": float(rng.choice([100.0, 10000.0])),
        }

    def reference(self, inputs):
        return grid_2d_np(**inputs)

    def compare(self, got, expected, inputs):
        return compare_arrays(got, expected, what=msg("what.encoding_2d"), rtol=self.rtol, atol=self.atol)
