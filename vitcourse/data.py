"""Offline data for the course: digits, sample photographs, and detection, segmentation and denoising canvases.

Nothing here downloads anything. The digits are scikit-learn's 1,797
handwritten 8x8 digits; the photographs ship with matplotlib and
scikit-learn; the detection canvases are drawn by this module from a seed,
and the segmentation (`SegmentationCanvas`) and denoising
(`DenoisingCanvas`) data sets of lecture 10 are made from them.

Shapes: images are ``(B, C, H, W)`` floats in ``[0, 1]`` unless said
otherwise; boxes are normalised ``cxcywh`` (centre x, centre y, width,
height, each divided by the canvas size), the convention of DETR.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from .utils import check_fraction, check_int, check_positive, check_share

__all__ = [
    "DigitsSplit",
    "load_digits",
    "SAMPLE_IMAGES",
    "sample_image",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "denormalize",
    "SHAPES",
    "COLORS",
    "DetectionCanvas",
    "collate_fn",
    "SegmentationCanvas",
    "DenoisingCanvas",
]

# ----------------------------------------------------------------------------- digits


@dataclass(frozen=True)
class DigitsSplit:
    """Train and test tensors of the digits data set (see `load_digits`)."""

    x_train: torch.Tensor  # (N_train, 1, S, S) float32 in [0, 1]
    y_train: torch.Tensor  # (N_train,) int64
    x_test: torch.Tensor  # (N_test, 1, S, S)
    y_test: torch.Tensor  # (N_test,)

    @property
    def train(self) -> TensorDataset:
        return TensorDataset(self.x_train, self.y_train)

    @property
    def test(self) -> TensorDataset:
        return TensorDataset(self.x_test, self.y_test)

    @property
    def image_size(self) -> int:
        return self.x_train.shape[-1]

    def train_subset(self, fraction: float, *, seed: int = 0) -> TensorDataset:
        """A class-stratified share of the training set, drawn with ``seed``.

        Every class keeps ``round(fraction * n_c)`` of its ``n_c`` training images
        (at least one); ``fraction=1`` keeps them all. The same ``(fraction, seed)``
        gives the same images, so models compared on a subset see the same data.

            data.train_subset(0.1, seed=1)   # about 10% of each class
        """
        fraction = check_share("fraction", fraction)
        seed = check_int("seed", seed, minimum=0)
        generator = torch.Generator().manual_seed(seed)
        keep = []
        for c in torch.unique(self.y_train).tolist():
            members = (self.y_train == c).nonzero().flatten()  # (n_c,) indices of class c
            n = max(1, round(fraction * len(members)))
            keep.append(members[torch.randperm(len(members), generator=generator)[:n]])
        idx = torch.cat(keep)
        return TensorDataset(self.x_train[idx], self.y_train[idx])

    def __repr__(self) -> str:
        return (
            f"DigitsSplit(train={tuple(self.x_train.shape)}, test={tuple(self.x_test.shape)}, "
            f"classes=10, image_size={self.image_size})"
        )


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = bunch.images.astype(np.float32) / 16.0  # (1797, 8, 8) in [0, 1]
    return images, bunch.target.astype(np.int64)


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        n_test = int(round(len(idx) * test_fraction))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    return np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))


def load_digits(upscale: int = 1, *, test_fraction: float = 0.25, split_seed: int = 0) -> DigitsSplit:
    """scikit-learn's handwritten digits as tensors with a fixed stratified split.

    Args:
        upscale: integer factor for nearest-neighbour upscaling (1 keeps 8x8,
            2 gives 16x16, ...). Must be >= 1.
        test_fraction: share of each class held out for testing, in (0, 1).
        split_seed: seed of the split; the default split is the one every
            lecture reports numbers on.

    Returns:
        `DigitsSplit` with ``x_*`` of shape ``(N, 1, 8*upscale, 8*upscale)``
        in ``[0, 1]`` and integer labels ``y_*`` in ``0..9``.
    """
    upscale = check_int("upscale", upscale, minimum=1, maximum=32)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be a number strictly between 0 and 1, got {test_fraction!r}")
    split_seed = check_int("split_seed", split_seed, minimum=0)
    images, labels = _digits_arrays()
    train_idx, test_idx = _stratified_split(labels, float(test_fraction), split_seed)
    x = torch.from_numpy(images).unsqueeze(1)  # (1797, 1, 8, 8)
    if upscale > 1:
        x = x.repeat_interleave(upscale, dim=2).repeat_interleave(upscale, dim=3)  # (1797, 1, 8u, 8u)
    y = torch.from_numpy(labels)
    return DigitsSplit(x[train_idx].contiguous(), y[train_idx], x[test_idx].contiguous(), y[test_idx])


# ----------------------------------------------------------------------------- photographs

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: name -> (package, file); every file ships inside an installed package.
SAMPLE_IMAGES = {
    "grace_hopper": ("matplotlib", "grace_hopper.jpg"),
    "china": ("sklearn", "china.jpg"),
    "flower": ("sklearn", "flower.jpg"),
}


def _read_sample(name: str) -> np.ndarray:
    package, filename = SAMPLE_IMAGES[name]
    if package == "matplotlib":
        import matplotlib
        import matplotlib.image as mpimg

        path = Path(matplotlib.get_data_path()) / "sample_data" / filename
        return np.asarray(mpimg.imread(path))
    from sklearn.datasets import load_sample_image

    return np.asarray(load_sample_image(filename))


def sample_image(name: str = "grace_hopper", size: int | None = 224, *, normalize: str = "imagenet") -> torch.Tensor:
    """A real photograph shipped with an installed package, as a ``(3, H, W)`` tensor.

    Args:
        name: one of ``SAMPLE_IMAGES`` (``"grace_hopper"``, ``"china"``, ``"flower"``).
        size: side of the square centre crop, resized with antialiasing;
            ``None`` keeps the full photograph.
        normalize: ``"imagenet"`` (subtract ImageNet mean, divide by std, the
            input convention of ViT and DETR) or ``"unit"`` (values in [0, 1]).
    """
    if name not in SAMPLE_IMAGES:
        raise ValueError(f"unknown photo name {name!r}; expected one of {sorted(SAMPLE_IMAGES)}")
    if normalize not in {"imagenet", "unit"}:
        raise ValueError(f"normalize must be 'imagenet' or 'unit', got {normalize!r}")
    if size is not None:
        size = check_int("size", size, minimum=8, maximum=4096)
    arr = _read_sample(name)
    img = torch.from_numpy(np.array(arr[..., :3])).permute(2, 0, 1).float()  # (3, H, W)
    if arr.dtype == np.uint8:
        img = img / 255.0
    if size is not None:
        h, w = img.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        img = img[:, top : top + side, left : left + side]
        img = F.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
        img = img.clamp(0, 1)
    if normalize == "imagenet":
        mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
        img = (img - mean) / std
    return img.contiguous()


def denormalize(img: torch.Tensor) -> torch.Tensor:
    """Undo ImageNet normalisation: ``(..., 3, H, W)`` back to [0, 1] for display."""
    if img.ndim < 3 or img.shape[-3] != 3:
        raise ValueError(f"img must have shape (..., 3, H, W), got {tuple(img.shape)}")
    mean = torch.tensor(IMAGENET_MEAN, dtype=img.dtype, device=img.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=img.dtype, device=img.device).view(3, 1, 1)
    return (img * std + mean).clamp(0, 1)


# ----------------------------------------------------------------------------- detection canvases

SHAPES = ("square", "circle", "triangle", "cross", "ring")
COLORS = {
    "red": (0.90, 0.20, 0.20),
    "green": (0.20, 0.80, 0.30),
    "blue": (0.25, 0.45, 0.95),
    "yellow": (0.95, 0.85, 0.20),
    "magenta": (0.85, 0.30, 0.85),
    "cyan": (0.20, 0.85, 0.85),
}


def _shape_mask(shape: str, size: int, width: int | None = None) -> np.ndarray:
    """A boolean ``(size, width)`` mask of ``shape`` filling its box (``width`` defaults to ``size``: a square).

    A box that is not square stretches the shape: a rectangle, an ellipse, a wide or tall triangle.
    """
    if width is not None and width != size:
        return _stretched_shape_mask(shape, size, width)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    c = size / 2.0
    if shape == "square":
        m = np.ones((size, size), dtype=bool)
    elif shape == "circle":
        m = (xx - c) ** 2 + (yy - c) ** 2 <= c**2
    elif shape == "triangle":  # apex at the top, base at the bottom
        m = (yy >= 0) & (np.abs(xx - c) <= yy / 2.0)
    elif shape == "cross":
        t = size / 6.0
        m = (np.abs(xx - c) <= t) | (np.abs(yy - c) <= t)
    elif shape == "ring":
        r2 = (xx - c) ** 2 + (yy - c) ** 2
        m = (r2 <= c**2) & (r2 >= (0.55 * c) ** 2)
    else:  # pragma: no cover - guarded by the constructor
        raise ValueError(f"unknown shape {shape!r}")
    return m


def _stretched_shape_mask(shape: str, height: int, width: int) -> np.ndarray:
    """`_shape_mask` in a ``(height, width)`` box: the square's shape scaled along x and y separately."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5
    u = (xx - width / 2.0) / (width / 2.0)  # -1 at the left edge, +1 at the right edge
    v = (yy - height / 2.0) / (height / 2.0)  # -1 at the top, +1 at the bottom
    if shape == "square":
        m = np.ones((height, width), dtype=bool)
    elif shape == "circle":
        m = u**2 + v**2 <= 1.0
    elif shape == "triangle":  # apex at the top, base at the bottom
        m = np.abs(u) <= yy / height
    elif shape == "cross":
        m = (np.abs(u) <= 1.0 / 3.0) | (np.abs(v) <= 1.0 / 3.0)
    elif shape == "ring":
        r2 = u**2 + v**2
        m = (r2 <= 1.0) & (r2 >= 0.55**2)
    else:  # pragma: no cover - guarded by the constructor
        raise ValueError(f"unknown shape {shape!r}")
    return m


class DetectionCanvas(Dataset):
    """Canvases with several non-overlapping coloured shapes or handwritten digits.

    Item ``i`` is drawn from ``numpy.random.default_rng([seed, i])``, so a
    data set is fully determined by its arguments and items can be read in
    any order. Each item is ``(image, target)``:

    - ``image``: ``(3, canvas_size, canvas_size)`` float32 in [0, 1];
    - ``target["labels"]``: ``(T,)`` int64, index into ``classes``
      (the shape names, or the digits 0..9);
    - ``target["boxes"]``: ``(T, 4)`` float32, normalised ``cxcywh``, the
      tight box around the object's pixels;
    - ``target["colors"]``: ``(T,)`` int64 index into ``COLORS`` (shapes only);
    - ``target["mask"]``: ``(H, W)`` int64 per-pixel class, 0 for the
      background and ``label + 1`` on an object (for segmentation).

    Args:
        length: number of canvases.
        kind: ``"shapes"`` or ``"digits"``.
        canvas_size: side of the square canvas in pixels.
        min_objects, max_objects: objects per canvas (uniform in this range;
            0 allowed for ``min_objects``).
        object_size: ``(smallest, largest)`` side of an object in pixels (with ``aspect``: its longer side).
        shapes: which shapes may appear (``kind="shapes"``); labels index it.
        aspect: ``(lo, hi)``, the range of each shape's width/height ratio (``kind="shapes"``),
            drawn log-uniformly, e.g. ``(1/3, 3)`` for wide and tall boxes alike: the longer side is
            the drawn object size, the shorter one that size divided by the ratio (at least 3 px),
            and the shape is stretched to fill the box (rectangle, ellipse, wide or tall triangle).
            None (default): every shape fills a square box.
        digit_split: ``"train"`` or ``"test"``: which digits split the
            handwritten digits come from, so held-out canvases use unseen digits.
        noise: standard deviation of Gaussian pixel noise added to the canvas.
        seed: the data set's seed.
    """

    def __init__(
        self,
        length: int = 1000,
        *,
        kind: str = "shapes",
        canvas_size: int = 64,
        min_objects: int = 1,
        max_objects: int = 4,
        object_size: tuple[int, int] = (10, 20),
        shapes: tuple[str, ...] = ("square", "circle", "triangle"),
        aspect: tuple[float, float] | None = None,
        digit_split: str = "train",
        noise: float = 0.0,
        seed: int = 0,
    ):
        self.length = check_int("length", length, minimum=0)
        if kind not in {"shapes", "digits"}:
            raise ValueError(f"kind must be 'shapes' or 'digits', got {kind!r}")
        self.kind = kind
        self.canvas_size = check_int("canvas_size", canvas_size, minimum=8, maximum=1024)
        if not (isinstance(object_size, (tuple, list)) and len(object_size) == 2):
            raise ValueError(f"object_size must be a pair (smallest, largest), got {object_size!r}")
        lo = check_int("object_size[0]", object_size[0], minimum=3)
        hi = check_int("object_size[1]", object_size[1], minimum=lo)
        if hi > self.canvas_size:
            raise ValueError(f"object_size {object_size!r} does not fit on a canvas of size {self.canvas_size}")
        self.object_size = (lo, hi)
        self.min_objects = check_int("min_objects", min_objects, minimum=0)
        self.max_objects = check_int("max_objects", max_objects, minimum=max(1, self.min_objects))
        capacity = (self.canvas_size // hi) ** 2  # a grid of largest objects always fits
        if self.max_objects > capacity:
            raise ValueError(
                f"max_objects={self.max_objects} objects of up to {hi} px cannot be placed without overlap "
                f"on a {self.canvas_size}x{self.canvas_size} canvas: at most {capacity} fit; lower max_objects "
                f"or object_size, or raise canvas_size"
            )
        if kind == "shapes":
            shapes = tuple(shapes)
            unknown = [s for s in shapes if s not in SHAPES]
            if not shapes or unknown or len(set(shapes)) != len(shapes):
                raise ValueError(f"shapes must be distinct names from {SHAPES}, got {shapes!r}")
            self.classes = shapes
        else:
            self.classes = tuple(str(d) for d in range(10))
        self.aspect = self._check_aspect(aspect)
        if digit_split not in {"train", "test"}:
            raise ValueError(f"digit_split must be 'train' or 'test', got {digit_split!r}")
        self.digit_split = digit_split
        self.noise = check_fraction("noise", noise)
        self.seed = check_int("seed", seed, minimum=0)
        self._masks: dict[tuple[str, int, int], np.ndarray] = {}  # (shape, height, width) -> _shape_mask

    def _check_aspect(self, aspect) -> tuple[float, float] | None:
        """``aspect`` as a pair of floats ``0 < lo <= hi``, or None; the error names what was expected."""
        if aspect is None:
            return None
        if self.kind != "shapes":
            raise ValueError(f"aspect applies to kind='shapes' only, got aspect={aspect!r} with kind={self.kind!r}")
        expected = "a pair (lo, hi) of width/height ratios with 0 < lo <= hi, e.g. (1/3, 3)"
        if not (isinstance(aspect, (tuple, list)) and len(aspect) == 2):
            raise ValueError(f"aspect must be {expected}, got {aspect!r}")
        lo, hi = (check_positive(f"aspect[{i}]", v) for i, v in enumerate(aspect))
        if lo > hi:
            raise ValueError(f"aspect must be {expected}, got {aspect!r} (lo > hi)")
        return (lo, hi)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return self.length

    def _digit_pool(self):
        images, labels = _digits_arrays()
        train_idx, test_idx = _stratified_split(labels, 0.25, 0)
        idx = train_idx if self.digit_split == "train" else test_idx
        return images[idx], labels[idx]

    def _place(self, rng: np.random.Generator, sizes: list[int]) -> list[tuple[int, int]]:
        """Top-left corners for squares of ``sizes`` with a 1 px gap, never overlapping."""
        S = self.canvas_size
        for _ in range(20):
            placed: list[tuple[int, int, int]] = []
            for s in sizes:
                for _ in range(100):
                    y, x = (int(v) for v in rng.integers(0, S - s + 1, size=2))
                    if all(
                        x + s + 1 <= px or px + ps + 1 <= x or y + s + 1 <= py or py + ps + 1 <= y
                        for py, px, ps in placed
                    ):
                        placed.append((y, x, s))
                        break
                else:
                    break
            if len(placed) == len(sizes):
                return [(y, x) for y, x, _ in placed]
        # Fallback that always succeeds: one object per cell of a grid of largest objects.
        hi = self.object_size[1]
        n = S // hi
        cells = rng.permutation(n * n)[: len(sizes)]
        return [
            (int(c // n) * hi + int(rng.integers(0, hi - s + 1)), int(c % n) * hi + int(rng.integers(0, hi - s + 1)))
            for c, s in zip(cells, sizes)
        ]

    def __getitem__(self, index: int):
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an integer, got {index!r}")
        index = int(index)
        if index < 0:
            index += self.length
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} is out of range for a data set of length {self.length}")
        rng = np.random.default_rng([self.seed, index])
        S = self.canvas_size
        n = int(rng.integers(self.min_objects, self.max_objects + 1))
        sizes = [int(s) for s in rng.integers(self.object_size[0], self.object_size[1] + 1, size=n)]
        if self.aspect is not None:  # width/height of each box; its longer side is the drawn size
            ratios = np.exp(rng.uniform(np.log(self.aspect[0]), np.log(self.aspect[1]), size=n))
            dims = [
                (s, max(3, min(s, round(s * r)))) if r < 1 else (max(3, min(s, round(s / r))), s)
                for s, r in zip(sizes, ratios)
            ]  # (height, width)
        else:
            dims = [(s, s) for s in sizes]
        corners = self._place(rng, sizes)  # squares of the longer side; a box sits inside its square
        image = np.zeros((3, S, S), dtype=np.float32)
        mask = np.zeros((S, S), dtype=np.int64)
        labels, colors, boxes = [], [], []
        color_values = list(COLORS.values())
        for (y, x), s, (bh, bw) in zip(corners, sizes, dims):
            if self.kind == "shapes":
                label = int(rng.integers(len(self.classes)))
                color = int(rng.integers(len(color_values)))
                if (bh, bw) != (s, s):  # a stretched box: a random place along the square's longer side
                    y, x = y + int(rng.integers(0, s - bh + 1)), x + int(rng.integers(0, s - bw + 1))
                key = (self.classes[label], bh, bw)
                m = self._masks.get(key)
                if m is None:
                    m = self._masks[key] = _shape_mask(self.classes[label], bh, bw)
                rgb = np.asarray(color_values[color], dtype=np.float32)[:, None]
                image[:, y : y + bh, x : x + bw][:, m] = rgb
                pix = m
            else:
                pool_x, pool_y = self._digit_pool()
                j = int(rng.integers(len(pool_y)))
                label, color = int(pool_y[j]), -1
                digit = torch.from_numpy(pool_x[j])[None, None]
                patch = F.interpolate(digit, size=(s, s), mode="bilinear", align_corners=False)[0, 0].numpy()
                image[:, y : y + s, x : x + s] = np.maximum(image[:, y : y + s, x : x + s], patch[None])
                pix = patch > 0.25
            mask[y : y + pix.shape[0], x : x + pix.shape[1]][pix] = label + 1
            rows, cols = np.nonzero(pix)
            if len(rows) == 0:  # a digit drawn so faint that no pixel passes: use its square
                x0, y0, x1, y1 = x, y, x + s, y + s
            else:
                x0, y0, x1, y1 = x + cols.min(), y + rows.min(), x + cols.max() + 1, y + rows.max() + 1
            boxes.append([(x0 + x1) / 2 / S, (y0 + y1) / 2 / S, (x1 - x0) / S, (y1 - y0) / S])
            labels.append(label)
            colors.append(color)
        if self.noise > 0:
            image = np.clip(image + rng.normal(0, self.noise, size=image.shape).astype(np.float32), 0, 1)
        target = {
            "labels": torch.tensor(labels, dtype=torch.int64),
            "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
            "colors": torch.tensor(colors, dtype=torch.int64),
            "mask": torch.from_numpy(mask),
        }
        return torch.from_numpy(image), target

    def __repr__(self) -> str:
        return (
            f"DetectionCanvas(length={self.length}, kind={self.kind!r}, canvas_size={self.canvas_size}, "
            f"objects={self.min_objects}..{self.max_objects}, classes={self.classes}"
            + (f", aspect={self.aspect}" if self.aspect is not None else "")
            + ")"
        )


def collate_fn(batch):
    """Stack images to ``(B, 3, H, W)`` and keep targets as a list of dicts (one per image).

    Use with ``DataLoader(dataset, batch_size=..., collate_fn=collate_fn)``;
    canvases hold different numbers of objects, so targets cannot be stacked.
    """
    if not batch:
        raise ValueError("collate_fn got an empty batch")
    images, targets = zip(*batch)
    shapes = {tuple(im.shape) for im in images}
    if len(shapes) != 1:
        raise ValueError(f"all images in a batch must have the same shape, got {sorted(shapes)}")
    return torch.stack(images), list(targets)


# ----------------------------------------------------------------------------- segmentation and denoising canvases


def _canvas_tensors(canvas: DetectionCanvas) -> tuple[torch.Tensor, torch.Tensor]:
    images, masks = zip(*((img, t["mask"]) for img, t in (canvas[i] for i in range(len(canvas)))))
    return torch.stack(images), torch.stack(masks)  # (N, 3, S, S), (N, S, S)


def _texture(rng: np.random.Generator, size: int) -> np.ndarray:
    """A ``(3, size, size)`` random colour texture in [0, 1]: smooth blobs (8 px cells) plus finer ones (4 px).

    Each scale is a grid of uniform random colours, one per cell corner,
    bilinearly interpolated to the canvas; the two scales are averaged.
    """
    out = np.zeros((3, size, size), dtype=np.float32)
    for cell in (8, 4):
        n = max(2, -(-size // cell) + 1)  # cell corners across the canvas
        grid = torch.from_numpy(rng.random((1, 3, n, n), dtype=np.float32))
        up = F.interpolate(grid, size=(size, size), mode="bilinear", align_corners=True)[0].numpy()
        out += up / 2
    return out


class SegmentationCanvas(Dataset):
    """``(image, mask)`` pairs for semantic segmentation, drawn by `DetectionCanvas`.

    ``image`` is ``(3, S, S)`` float32 in [0, 1]; ``mask`` is ``(S, S)`` int64
    with 0 for the background and ``label + 1`` on an object, so there are
    ``num_classes = len(classes) + 1`` classes. Every canvas is drawn once in
    the constructor and kept as two tensors, ``images`` and ``masks``.
    Keyword arguments go to `DetectionCanvas` (``kind``, ``canvas_size``,
    ``shapes``, ``object_size``, ``noise``, ``seed``, ...). An object's colour
    is drawn independently of its class, so the shape decides the class.

    Two options make the task harder (their defaults draw the plain canvases):

    - ``background="texture"``: a random colour texture (`_texture`, smooth
      and finer blobs, its own per-canvas random stream) instead of black;
    - ``contrast``: each object pixel becomes ``bg + contrast * (colour - bg)``
      with ``bg`` the background under it, so at ``contrast=0.4`` an object
      differs from its surroundings by 40 % of what it would at 1.

    With either option the pixel noise (``noise``) is added last, on top of the
    background and the objects alike, then the image is clipped to [0, 1].
    The masks do not change with these options.
    """

    BACKGROUNDS = ("black", "texture")  # what ``background`` may be

    def __init__(self, length: int = 1000, *, background: str = "black", contrast: float = 1.0, **canvas_kwargs):
        if background not in self.BACKGROUNDS:
            raise ValueError(f"background must be one of {self.BACKGROUNDS}, got {background!r}")
        contrast = check_share("contrast", contrast, hint=" (1: objects in their full colour)")
        self.background, self.contrast = background, contrast
        plain = background == "black" and self.contrast == 1.0
        noise = 0.0 if plain else canvas_kwargs.pop("noise", 0.0)
        self.canvas = DetectionCanvas(length, **canvas_kwargs)
        if not plain:
            noise = check_fraction("noise", noise)
        self.noise = self.canvas.noise if plain else noise
        S = self.canvas.canvas_size
        self.images, self.masks = (
            _canvas_tensors(self.canvas)
            if len(self.canvas)
            else (torch.zeros(0, 3, S, S), torch.zeros(0, S, S, dtype=torch.int64))
        )
        if not plain and len(self.canvas):
            self.images = torch.stack([self._restyle(i) for i in range(len(self.canvas))])
        self.classes = ("background",) + tuple(self.canvas.classes)

    def _restyle(self, index: int) -> torch.Tensor:
        """Canvas ``index`` with its background, contrast and noise; a stream of its own per canvas."""
        rng = np.random.default_rng([self.canvas.seed, index, 1])  # DetectionCanvas uses [seed, index]
        S = self.canvas.canvas_size
        image, obj = self.images[index].numpy(), self.masks[index].numpy() > 0
        bg = _texture(rng, S) if self.background == "texture" else np.zeros((3, S, S), dtype=np.float32)
        fg = image if self.contrast == 1.0 else bg + self.contrast * (image - bg)
        out = np.where(obj[None], fg, bg)
        if self.noise > 0:
            out = out + rng.normal(0, self.noise, size=out.shape)
        return torch.from_numpy(np.clip(out, 0, 1).astype(np.float32))

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.images[index], self.masks[index]

    def __repr__(self) -> str:
        style = ""
        if self.background != "black" or self.contrast != 1.0:
            style = f", background={self.background!r}, contrast={self.contrast}, noise={self.noise}"
        return f"SegmentationCanvas(length={len(self)}, size={self.canvas.canvas_size}{style}, classes={self.classes})"


class DenoisingCanvas(Dataset):
    """``(noisy, clean)`` pairs for denoising: canvases plus Gaussian noise of std ``sigma``, clipped to [0, 1].

    The noise is drawn once, for all items together, from a generator seeded
    with ``noise_seed``: the pairs are fixed, so a training run reproduces.
    Keyword arguments go to `DetectionCanvas`; ``images`` holds the clean
    canvases ``(N, 3, S, S)`` and ``noisy`` the inputs.
    """

    def __init__(self, length: int = 1000, *, sigma: float = 0.2, noise_seed: int = 0, **canvas_kwargs):
        sigma = check_positive("sigma", sigma)
        noise_seed = check_int("noise_seed", noise_seed, minimum=0)
        if canvas_kwargs.get("noise", 0):
            raise ValueError(
                f"noise={canvas_kwargs['noise']!r} would make the clean targets noisy; use sigma for the input noise"
            )
        self.sigma = sigma
        self.canvas = DetectionCanvas(length, **canvas_kwargs)
        S = self.canvas.canvas_size
        self.images = _canvas_tensors(self.canvas)[0] if len(self.canvas) else torch.zeros(0, 3, S, S)
        g = torch.Generator().manual_seed(noise_seed)
        self.noisy = (self.images + sigma * torch.randn(self.images.shape, generator=g)).clamp(0, 1)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index):
        return self.noisy[index], self.images[index]

    def __repr__(self) -> str:
        return f"DenoisingCanvas(length={len(self)}, size={self.canvas.canvas_size}, sigma={self.sigma})"
