"""Checks for exercises/00_warmup.ipynb: the exercise format on two tiny functions.

References are NumPy (float64) so they share no code with the learner's PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, compare_arrays, register, visible_variant

#: The visible cases' shapes, one per visible seed: 2, 1 and 3 axes, as the hidden cases have.
_VISIBLE_SHAPES = ((3, 4), (5,), (2, 3, 2))


def _shape(rng, hidden):
    """A small fixed shape of 2, 1 or 3 axes when visible (one per seed); a random 1-3 dimensional shape when
    hidden."""
    if not hidden:
        return _VISIBLE_SHAPES[visible_variant(rng, 3)]
    ndim = int(rng.integers(1, 4))
    return tuple(int(n) for n in rng.integers(1, 7, size=ndim))


def _f64(inputs):
    return inputs["x"].astype(np.float64)


def _divide_rows(x, s):
    """x / s row by row, NaN where s is 0 (what an unguarded division gives)."""
    with np.errstate(all="ignore"):
        return x / s


@register
class Relu(Check):
    name = "00.relu"
    absent = ()
    forbidden = (
        "torch.relu",
        "torch.nn.functional.relu",
        "Tensor.relu",
        "torch.nn.ReLU",
        "torch.nn.functional.relu_",
        "Tensor.relu_",
    )
    target = "relu"
    mistakes = (
        ("mistake.00.relu.keeps_negatives", lambda i: np.minimum(_f64(i), 0.0)),
        ("mistake.00.relu.mask", lambda i: (_f64(i) > 0).astype(np.float64)),
        ("mistake.00.relu.abs", lambda i: np.abs(_f64(i))),
    )

    def make_inputs(self, rng, hidden):
        return {"x": rng.normal(0, 2, size=_shape(rng, hidden)).astype(np.float32)}

    def reference(self, inputs):
        return np.maximum(inputs["x"].astype(np.float64), 0.0)

    def compare(self, got, expected, inputs):
        failures = compare_arrays(got, expected, what="relu(x)", rtol=self.rtol, atol=self.atol)
        if not failures and np.asarray(got).dtype != inputs["x"].dtype:
            failures = [msg("ex00.relu_dtype", expected=inputs["x"].dtype, got=np.asarray(got).dtype)]
        return failures


@register
class RowNormalize(Check):
    name = "00.row_normalize"
    absent = ()
    forbidden = ("torch.nn.functional.normalize",)
    target = "row_normalize"
    mistakes = (
        ("mistake.00.row_normalize.columns", lambda i: RowNormalize.by(_f64(i), _f64(i).sum(axis=0, keepdims=True))),
        ("mistake.00.row_normalize.zero_rows_nan", lambda i: _divide_rows(_f64(i), _f64(i).sum(-1, keepdims=True))),
        (
            "mistake.00.row_normalize.length",
            lambda i: RowNormalize.by(_f64(i), np.sqrt((_f64(i) ** 2).sum(-1, keepdims=True))),
        ),
    )

    @staticmethod
    def by(x, s):
        """x / s with zeros where s is 0 (the guarded division, for the mistakes that divide by another sum)."""
        return np.divide(x, s, out=np.zeros_like(x), where=s != 0)

    #: visible cases (one per seed): (rows, cols, rows of zeros); the hidden ones have zero rows or none
    VISIBLE: tuple[tuple[int, int, list[int]], ...] = ((4, 5, [1]), (6, 2, [0, 4]), (2, 7, []))

    def case_features(self, inputs):
        return {f"a row of zeros: {bool((inputs['x'] == 0).all(axis=-1).any())}"}

    def make_inputs(self, rng, hidden):
        if not hidden:
            rows, cols, zero_rows = self.VISIBLE[visible_variant(rng, 3)]
        else:
            rows, cols = int(rng.integers(1, 9)), int(rng.integers(1, 9))
        x = rng.uniform(0, 3, size=(rows, cols))
        if hidden:
            zero_rows = list(np.flatnonzero(rng.random(rows) < 0.3))
        x[zero_rows] = 0.0  # rows of zeros must give zeros, not NaN
        return {"x": x.astype(np.float32)}

    def reference(self, inputs):
        x = inputs["x"].astype(np.float64)
        s = x.sum(axis=-1, keepdims=True)
        return np.divide(x, s, out=np.zeros_like(x), where=s != 0)

    def compare(self, got, expected, inputs):
        failures = compare_arrays(got, expected, what="row_normalize(x)", rtol=self.rtol, atol=self.atol)
        if failures:
            return failures
        sums = np.asarray(got, np.float64).sum(axis=-1)
        zero = inputs["x"].sum(axis=-1) == 0
        if not np.allclose(sums[~zero], 1.0, atol=1e-4) or not np.all(sums[zero] == 0):
            return [msg("ex00.row_sums")]
        return []
