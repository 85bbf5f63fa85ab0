"""Checks for exercises/08_mlp_mixer.ipynb: a functional Mixer block, and a Mixer trained on digits.

Weight layout follows ``torch.nn.Linear`` (a linear map is ``x @ W.T + b``)
and ``torch.nn.LayerNorm`` (``eps = 1e-6``, as in the paper's code). The
block's reference is `vitcourse.mixer.MixerBlock` loaded with the same
weights; the training task is judged on held-out digits the student's
function never sees.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check, DigitsTrainingCheck, compare_arrays, register, visible_variant

#: name of each weight argument of ``mixer_block`` -> parameter of `vitcourse.mixer.MixerBlock`
BLOCK_PARAMS = {
    "norm1_weight": "norm1.weight",
    "norm1_bias": "norm1.bias",
    "token_w1": "token_mlp.fc1.weight",
    "token_b1": "token_mlp.fc1.bias",
    "token_w2": "token_mlp.fc2.weight",
    "token_b2": "token_mlp.fc2.bias",
    "norm2_weight": "norm2.weight",
    "norm2_bias": "norm2.bias",
    "channel_w1": "channel_mlp.fc1.weight",
    "channel_b1": "channel_mlp.fc1.bias",
    "channel_w2": "channel_mlp.fc2.weight",
    "channel_b2": "channel_mlp.fc2.bias",
}


def block_inputs(rng, B: int, N: int, D: int, S: int, C: int) -> dict:
    """Random input and weights of a Mixer block with N patches, D channels, hidden widths S and C."""
    shapes = {
        "norm1_weight": (D,),
        "norm1_bias": (D,),
        "token_w1": (S, N),
        "token_b1": (S,),
        "token_w2": (N, S),
        "token_b2": (N,),
        "norm2_weight": (D,),
        "norm2_bias": (D,),
        "channel_w1": (C, D),
        "channel_b1": (C,),
        "channel_w2": (D, C),
        "channel_b2": (D,),
    }
    out = {"x": rng.normal(size=(B, N, D)).astype(np.float32)}
    for name, shape in shapes.items():
        if name.startswith("norm") and name.endswith("weight"):
            w = 1 + rng.normal(0, 0.2, size=shape)
        elif name.endswith(("bias", "b1", "b2")):
            w = rng.normal(0, 0.1, size=shape)
        else:
            w = rng.normal(0, 1 / np.sqrt(shape[1]), size=shape)
        out[name] = w.astype(np.float32)
    return out


def _mixer_variant(inputs, *, skips=True, channels_first=False):
    """A Mixer block in NumPy float64 (as `vitcourse.mixer.MixerBlock`) with one mistake: no skip connections,
    or channel mixing before token mixing."""
    from scipy.special import erf

    f = {k: np.asarray(v, np.float64) for k, v in inputs.items()}

    def ln(z, i):
        mu, var = z.mean(axis=-1, keepdims=True), z.var(axis=-1, keepdims=True)
        return (z - mu) / np.sqrt(var + 1e-6) * f[f"norm{i}_weight"] + f[f"norm{i}_bias"]

    def mlp(z, kind):
        h = z @ f[f"{kind}_w1"].T + f[f"{kind}_b1"]
        return (0.5 * h * (1 + erf(h / np.sqrt(2)))) @ f[f"{kind}_w2"].T + f[f"{kind}_b2"]

    def token(x):
        return mlp(ln(x, 1).swapaxes(1, 2), "token").swapaxes(1, 2)  # (B, N, D): mixes the patches

    def channel(x):
        return mlp(ln(x, 2), "channel")

    x = f["x"]
    for step in (channel, token) if channels_first else (token, channel):
        x = (x if skips else 0.0) + step(x)
    return x


@register
class MixerBlockCheck(Check):
    name = "08.mixer_block"
    absent = ("mixer",)
    forbidden = ("vitcourse.mixer",)
    target = "mixer_block"
    rtol, atol = 1e-4, 1e-4
    mistakes = (
        ("mistake.08.no_skips", lambda i: _mixer_variant(i, skips=False)),
        ("mistake.08.channels_first", lambda i: _mixer_variant(i, channels_first=True)),
    )

    def make_inputs(self, rng, hidden):
        if hidden:
            B, N, D, S, C = (
                int(rng.integers(1, 4)),
                int(rng.integers(2, 10)),
                int(rng.integers(2, 9)),
                int(rng.integers(2, 12)),
                int(rng.integers(2, 12)),
            )
        else:
            # one per seed, N != D in each: a transpose in the wrong place fails
            B, N, D, S, C = ((2, 4, 3, 5, 6), (1, 3, 5, 2, 4), (3, 6, 2, 4, 3))[visible_variant(rng, 3)]
        return block_inputs(rng, B, N, D, S, C)

    def reference(self, inputs):
        import torch

        from ..mixer import MixerBlock

        B, N, D = inputs["x"].shape
        S, C = inputs["token_w1"].shape[0], inputs["channel_w1"].shape[0]
        block = MixerBlock(N, D, S, C).double()
        with torch.no_grad():
            params = dict(block.named_parameters())
            for arg, pname in BLOCK_PARAMS.items():
                params[pname].copy_(torch.from_numpy(np.asarray(inputs[arg], np.float64)))
            return block(torch.from_numpy(np.asarray(inputs["x"], np.float64))).numpy()

    def compare(self, got, expected, inputs):
        return compare_arrays(
            got, expected, what=msg("what.output_of", target="mixer_block"), rtol=self.rtol, atol=self.atol
        )


@register
class TrainMixer(DigitsTrainingCheck):
    """``train_mixer(x_train, y_train)`` returns a trained model; it is judged on held-out digits."""

    name = "08.train_mixer"
    target = "train_mixer"

    def build_model(self, config):
        from ..mixer import MixerConfig, MLPMixer

        return MLPMixer(MixerConfig(**config))
