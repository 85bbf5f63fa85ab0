"""Published checkpoints in the course's own models: ViT-B/16 and DETR-R50 from a Hugging Face folder.

``find_checkpoint("vit")`` looks for the published weights in the local Hugging
Face cache (nothing is downloaded unless ``download=True``); when they are not
there, it writes a *randomly initialised* Hugging Face model of the same kind,
with a small configuration, to a folder with ``save_pretrained``, so the same
code runs offline (as in CI). `Checkpoint.published` says which one it is.

Loading goes through the public loaders: `vitcourse.vit_hf.vit_from_hf` reads the
folder directly; `detr_from_pretrained` reads it with ``transformers`` and
converts with `vitcourse.detr.detr_from_hf`. ``transformers`` is needed for the
DETR folder and for writing the stand-ins.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch

__all__ = [
    "PUBLISHED",
    "Checkpoint",
    "cached_checkpoint",
    "find_checkpoint",
    "random_checkpoint",
    "detr_from_pretrained",
    "hf_detr_from_pretrained",
    "image_normalization",
]

#: The published checkpoints this module knows (Hugging Face Hub ids).
PUBLISHED = {"vit": "google/vit-base-patch16-224", "detr": "facebook/detr-resnet-50"}
#: The Hub revision read: DETR's ``no_timm`` branch holds the same weights with Hugging Face's own ResNet
#: backbone (the main branch's backbone needs timm, which `vitcourse.detr.detr_from_hf` does not read).
REVISIONS = {"vit": None, "detr": "no_timm"}


@dataclass(frozen=True)
class Checkpoint:
    """A Hugging Face checkpoint folder and whether it holds the published weights or a random stand-in."""

    kind: str  # "vit" or "detr"
    path: Path
    repo_id: str
    published: bool

    @property
    def config(self) -> dict:
        """The folder's ``config.json``."""
        return json.loads((self.path / "config.json").read_text())

    @property
    def labels(self) -> dict[int, str]:
        """Class index -> name, from ``config.json`` (``LABEL_k`` for a stand-in)."""
        return {int(k): v for k, v in self.config.get("id2label", {}).items()}

    def describe(self) -> str:
        if self.published:
            return f"{self.kind}: the published weights {self.repo_id}, from the local Hugging Face cache ({self.path})"
        revision = f" (revision {REVISIONS[self.kind]})" if REVISIONS[self.kind] else ""
        return (
            f"{self.kind}: NOT the published weights ({self.repo_id}{revision} is not in the local Hugging Face "
            f"cache); a randomly initialised Hugging Face model with a small configuration, saved to {self.path}. "
            f"Its predictions and attention maps are noise; the code path is the same."
        )


def _complete(path: Path) -> bool:
    names = {p.name for p in path.iterdir()} if path.is_dir() else set()
    return "config.json" in names and any(n.endswith((".safetensors", ".bin")) for n in names)


def cached_checkpoint(repo_id: str, *, revision: str | None = None, download: bool = False) -> Path | None:
    """The folder of ``repo_id`` in the local Hugging Face cache, or ``None``; downloads only if ``download``."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        return None
    for weights in ("*.safetensors", "pytorch_model.bin"):  # the second only where a repo has no safetensors
        try:
            path = Path(
                snapshot_download(
                    repo_id,
                    revision=revision,
                    local_files_only=not download,
                    allow_patterns=["config.json", "preprocessor_config.json", weights],
                )
            )
        except Exception:  # noqa: BLE001 - not cached, offline, or no such repo: all mean "not available"
            continue
        if _complete(path):
            return path
    return None


def random_checkpoint(kind: str, folder: str | os.PathLike, *, seed: int = 0) -> Path:
    """Save a randomly initialised Hugging Face ViT or DETR (small configuration) to ``folder``; return it."""
    import transformers

    folder = Path(folder)
    torch.manual_seed(seed)
    model: transformers.PreTrainedModel
    # the call-arg ignores below: transformers' configs take more keyword arguments (num_labels,
    # use_timm_backbone, ...: PreTrainedConfig's **kwargs) than their dataclass signatures list
    if kind == "vit":
        vit_config = transformers.ViTConfig(
            image_size=224,
            patch_size=16,
            hidden_size=96,  # type: ignore[call-arg]
            num_hidden_layers=2,
            num_attention_heads=4,
            intermediate_size=192,
            num_labels=10,
        )
        model = transformers.ViTForImageClassification(vit_config)
    elif kind == "detr":
        backbone = transformers.ResNetConfig(
            embedding_size=16,  # type: ignore[call-arg]
            hidden_sizes=[32, 64, 96, 128],
            depths=[1, 1, 1, 1],
            layer_type="bottleneck",
            out_features=["stage4"],
        )
        detr_config = transformers.DetrConfig(
            backbone_config=backbone,  # type: ignore[call-arg]
            use_timm_backbone=False,
            use_pretrained_backbone=False,
            d_model=64,
            encoder_layers=2,
            decoder_layers=2,
            encoder_ffn_dim=128,
            decoder_ffn_dim=128,
            encoder_attention_heads=4,
            decoder_attention_heads=4,
            num_queries=20,
            num_labels=10,
        )
        detr = transformers.DetrForObjectDetection(detr_config)
        with torch.no_grad():  # Hugging Face's init (std 0.02) makes every query alike: spread them out
            detr.model.query_position_embeddings.weight.normal_()
            detr.class_labels_classifier.weight.normal_(0, 0.3)
            detr.bbox_predictor.layers[-1].weight.normal_(0, 0.3)
        model = detr
    else:
        raise ValueError(f"kind must be 'vit' or 'detr', got {kind!r}")
    model.eval().save_pretrained(folder)
    return folder


def find_checkpoint(kind: str, folder: str | os.PathLike, *, download: bool | None = None) -> Checkpoint:
    """The published ``kind`` checkpoint if it is in the local cache, else a random stand-in written to ``folder``.

    ``download`` (default: the ``VITCOURSE_DOWNLOAD`` environment variable is ``1``)
    lets it fetch the published weights from the Hugging Face Hub when online.
    """
    if kind not in PUBLISHED:
        raise ValueError(f"kind must be one of {sorted(PUBLISHED)}, got {kind!r}")
    if download is None:
        download = os.environ.get("VITCOURSE_DOWNLOAD", "") == "1"
    path = cached_checkpoint(PUBLISHED[kind], revision=REVISIONS[kind], download=download)
    if path is not None:
        return Checkpoint(kind, path, PUBLISHED[kind], True)
    return Checkpoint(kind, random_checkpoint(kind, Path(folder) / f"{kind}-random"), PUBLISHED[kind], False)


def image_normalization(path: str | os.PathLike) -> tuple[list[float], list[float]]:
    """(mean, std) the checkpoint's image processor uses (``preprocessor_config.json``), else ImageNet's."""
    file = Path(path) / "preprocessor_config.json"
    if file.is_file():
        cfg = json.loads(file.read_text())
        if "image_mean" in cfg and "image_std" in cfg:
            return list(cfg["image_mean"]), list(cfg["image_std"])
    return [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def hf_detr_from_pretrained(path: str | os.PathLike):
    """Hugging Face's own ``DetrForObjectDetection`` from a local folder (for the published weights: the
    ``no_timm`` revision, whose backbone is Hugging Face's ResNet)."""
    from transformers import DetrForObjectDetection

    path = Path(path)
    if not (path / "config.json").is_file():
        raise ValueError(
            f"checkpoint directory {str(path)!r} has no config.json (expected a folder written by "
            f"save_pretrained or a Hugging Face cache snapshot)"
        )
    return DetrForObjectDetection.from_pretrained(path, local_files_only=True).eval()


def detr_from_pretrained(path: str | os.PathLike, *, aux_loss: bool = False):
    """A course `vitcourse.detr.DETR` with the weights of a local Hugging Face DETR folder, in ``eval()`` mode."""
    from .detr import detr_from_hf

    return detr_from_hf(hf_detr_from_pretrained(path), aux_loss=aux_loss).eval()
