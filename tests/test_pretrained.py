"""Local Hugging Face checkpoint folders through the public loaders give Hugging Face's own outputs (no network)."""
import pytest
import torch

from vitcourse.pretrained import (Checkpoint, detr_from_pretrained, find_checkpoint, hf_detr_from_pretrained,
                                  random_checkpoint)
from vitcourse.vit_hf import vit_from_hf

transformers = pytest.importorskip("transformers")


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # any attempt to reach the network fails instead of downloading
    monkeypatch.setenv("VITCOURSE_DOWNLOAD", "0")


def _perturb(model, scale=0.3):
    """HF's own init (std 0.02) gives outputs near zero, where a wrong weight hides; spread the weights out."""
    with torch.no_grad():
        for name, p in model.state_dict().items():
            if p.is_floating_point() and "running_var" not in name:
                p.add_(torch.randn_like(p) * scale)
    return model


def test_local_vit_folder_equals_hugging_face(tmp_path):
    torch.manual_seed(0)
    hf = _perturb(transformers.ViTForImageClassification(transformers.ViTConfig(
        image_size=64, patch_size=16, hidden_size=48, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=96, num_labels=7)).eval())
    hf.save_pretrained(tmp_path / "vit")
    ours = vit_from_hf(tmp_path / "vit")
    theirs = transformers.ViTForImageClassification.from_pretrained(tmp_path / "vit", local_files_only=True).eval()
    x = torch.randn(3, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = theirs(x).logits, ours(x)
    assert (got - expected).abs().max() <= 1e-4
    assert expected.std() > 0.1  # outputs far from constant: a wrong weight would show


def test_local_detr_folder_equals_hugging_face(tmp_path):
    path = random_checkpoint("detr", tmp_path / "detr")
    theirs = _perturb(hf_detr_from_pretrained(path))
    theirs.save_pretrained(path)  # the perturbed weights, so the comparison is not between near-zero outputs
    theirs = hf_detr_from_pretrained(path)
    ours = detr_from_pretrained(path)
    x = torch.randn(2, 3, 96, 128, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected, got = theirs(pixel_values=x), ours(x)
    assert (got["pred_logits"] - expected.logits).abs().max() <= 1e-4
    assert (got["pred_boxes"] - expected.pred_boxes).abs().max() <= 1e-4
    assert expected.logits.std(1).min() > 1e-3  # the queries differ: a wrong query or position weight would show


def test_find_checkpoint_offline_writes_a_stand_in_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-cache"))  # nothing cached
    ckpt = find_checkpoint("vit", tmp_path)
    assert isinstance(ckpt, Checkpoint) and not ckpt.published and (ckpt.path / "config.json").is_file()
    assert "NOT the published weights" in ckpt.describe() and "google/vit-base-patch16-224" in ckpt.describe()
    assert vit_from_hf(ckpt.path).config.patch_size == 16
    with pytest.raises(ValueError, match="kind must be one of"):
        find_checkpoint("resnet", tmp_path)
    with pytest.raises(ValueError, match="has no config.json"):
        hf_detr_from_pretrained(tmp_path / "nowhere")
