"""Training tasks: the learner trains a model; the judge rebuilds it and measures it on images it alone holds.

`DigitsTrainingCheck` is the base of every training check (a subclass names the
task and builds the required architecture); `perturb_digits` makes the held-out
images fresh for each grading.
"""

from __future__ import annotations

import numpy as np

from ..messages import msg
from . import Check
from .compare import accuracy_failures

__all__ = ["DigitsTrainingCheck", "perturb_digits"]


def perturb_digits(
    images: np.ndarray, rng: np.random.Generator, *, contrast: float = 0.9, noise: float = 0.02
) -> np.ndarray:
    """Held-out images made fresh for one grading: each dimmed by a random factor in ``[contrast, 1]`` and
    overlaid with Gaussian noise of standard deviation ``noise``, then clipped to ``[0, 1]``.

    The result cannot be looked up in the public digits data set, so a model
    can only score on it by having learned to classify digits; a model that
    has learned loses at most about a point of accuracy on it.
    """
    x = np.asarray(images, np.float32)
    scale = rng.uniform(contrast, 1.0, size=(len(x),) + (1,) * (x.ndim - 1)).astype(np.float32)
    out = x * scale + rng.normal(0.0, noise, size=x.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0)


class DigitsTrainingCheck(Check):
    """A training task: ``target(x_train, y_train)`` returns a trained model, judged on images it never saw.

    The learner's process gets the training split only and hands back the
    model's config and weights (`vitcourse.harness.trained_weights`); the
    trusted side rebuilds the required architecture (`build_model`), loads the
    weights (refusing any other shape or a model over the size cap) and
    measures accuracy on the held-out split, dimmed and noised afresh from
    the case's seed (`perturb_digits`): images and labels that never reach the
    learner's process. The visible case uses the course's split
    (``split_seed=0``), the hidden case another. Subclasses set ``name``,
    ``target`` and ``build_model`` (hints in the catalogue) and may change ``threshold``.
    """

    threshold: float = 0.95
    upscale: int = 2
    visible_seeds = (0,)
    hidden_cases = 1
    timeout = 300.0
    runner = "trained_weights"
    private_inputs = ("x_test", "y_test")

    def make_inputs(self, rng, hidden):
        from ..data import load_digits

        split_seed = 0 if not hidden else int(rng.integers(1, 10_000))
        data = load_digits(upscale=self.upscale, split_seed=split_seed)
        return {
            "x_train": data.x_train.numpy(),
            "y_train": data.y_train.numpy(),
            "x_test": perturb_digits(data.x_test.numpy(), rng),
            "y_test": data.y_test.numpy(),
        }

    def build_model(self, config: dict):
        """The required architecture built from the handed-in ``config`` (trusted side)."""
        raise NotImplementedError

    def reference(self, inputs):
        return np.asarray(inputs["y_test"], np.int64)

    def compare(self, got, expected, inputs):
        import torch

        from ..harness import MAX_TRAINED_PARAMETERS
        from ..train import predict

        if (
            type(got) is not dict
            or set(got) != {"config", "state"}
            or type(got["config"]) is not dict
            or type(got["state"]) is not dict
        ):
            return [msg("train.must_return", target=self.target)]
        try:
            model = self.build_model(dict(got["config"]))
        except (TypeError, ValueError) as e:
            return [msg("train.rebuild", error=str(e)[:200])]
        n = sum(p.numel() for p in model.parameters())
        if n > MAX_TRAINED_PARAMETERS:
            return [msg("train.too_big", n=n, limit=MAX_TRAINED_PARAMETERS)]
        try:
            state = {str(k): torch.from_numpy(np.asarray(v, np.float32)) for k, v in got["state"].items()}
            model.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError, ValueError) as e:
            return [msg("train.weights", error=" ".join(str(e).split())[:200])]
        pred = predict(model.eval(), torch.from_numpy(np.asarray(inputs["x_test"], np.float32)))
        return accuracy_failures(
            pred.argmax(-1).numpy().astype(np.int64), expected, self.threshold, what=msg("what.test_accuracy")
        )
