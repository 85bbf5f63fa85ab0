"""Calls that used to fail silently or with a raw PyTorch/matplotlib error now say what was wrong and how to fix it.

Each test makes the mistake a student makes and checks that the message names the argument and the fix; the
last ones check that the correct call still works.
"""
import matplotlib
import pytest
import torch

from vitcourse import MultiHeadAttention, plot, scaled_dot_product_attention
from vitcourse.detr import DETR, DETRConfig, HungarianMatcher, SetCriterion, box_area, box_cxcywh_to_xyxy
from vitcourse.detr.matcher import check_detection_inputs
from vitcourse.mixer import MLPMixer, MixerConfig
from vitcourse.train import History, fit
from vitcourse.blocks import DecoderBlock
from vitcourse.unet import UNet
from vitcourse.vit import ViT, ViTConfig

matplotlib.use("Agg")


def _detection(target_boxes):
    outputs = {"pred_logits": torch.zeros(1, 4, 3), "pred_boxes": torch.full((1, 4, 4), 0.25)}
    targets = [{"labels": torch.tensor([0]), "boxes": target_boxes}]
    return outputs, targets


PIXEL_BOXES = torch.tensor([[32.0, 32.0, 10.0, 12.0]])  # cxcywh in pixels of a 64x64 image


def test_box_cxcywh_to_xyxy_rejects_negative_widths():
    with pytest.raises(ValueError, match=r"negative width or height at index 1.*w >= 0 and h >= 0.*sigmoid"):
        box_cxcywh_to_xyxy(torch.tensor([[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, -0.2, 0.2]]))
    with pytest.raises(ValueError, match=r"at index \(0, 1\)"):  # leading axes (B, Q, 4)
        box_cxcywh_to_xyxy(torch.tensor([[[0.5, 0.5, 0.2, 0.2], [0.5, 0.5, 0.2, -0.1]]]))


def test_box_area_of_cxcywh_boxes_says_to_convert():
    cxcywh = torch.tensor([[0.5, 0.5, 0.2, 0.4]])  # read as xyxy: x1 = 0.2 < x0 = 0.5
    with pytest.raises(ValueError, match=r"box_area takes xyxy boxes.*box_area\(box_cxcywh_to_xyxy\(boxes\)\)"):
        box_area(cxcywh)
    assert torch.allclose(box_area(box_cxcywh_to_xyxy(cxcywh)), torch.tensor([0.08]))


def test_matcher_rejects_pixel_target_boxes():
    with pytest.raises(ValueError, match=r"targets\[0\]\['boxes'\] holds values up to 32.*look like pixels.*"
                                         r"Divide by the image size"):
        HungarianMatcher()(*_detection(PIXEL_BOXES))


def test_criterion_rejects_pixel_target_boxes():
    with pytest.raises(ValueError, match=r"targets\[0\]\['boxes'\].*normalised by the image size.*Divide"):
        SetCriterion(2)(*_detection(PIXEL_BOXES))


def test_normalised_targets_pass_and_negative_ones_fail():
    assert check_detection_inputs(*_detection(PIXEL_BOXES / 64)) == (1, 4, 2)
    with pytest.raises(ValueError, match=r"targets\[0\]\['boxes'\] holds a value -0.1 < 0"):
        check_detection_inputs(*_detection(torch.tensor([[0.5, 0.5, -0.1, 0.2]])))


def _uint8_and_float64(model, shape, name="images"):
    images = torch.rand(*shape)
    with pytest.raises(TypeError, match=rf"{name} has dtype torch.uint8 \(raw pixels 0..255\).*"
                                        rf"`{name}.float\(\) / 255`"):
        model((images * 255).to(torch.uint8))
    with pytest.raises(TypeError, match=rf"{name} has dtype torch.float64 but the model's weights are "
                                        rf"torch.float32.*\.float\(\)"):
        model(images.double())
    model(images)  # float32 works


def test_vit_rejects_uint8_and_float64_images():
    _uint8_and_float64(ViT(ViTConfig.tiny_digits()).eval(), (2, 1, 16, 16))


def test_mixer_rejects_uint8_and_float64_images():
    _uint8_and_float64(MLPMixer(MixerConfig.tiny_digits()).eval(), (2, 1, 16, 16))


def test_unet_rejects_uint8_and_float64_images():
    _uint8_and_float64(UNet(3, 2, depth=2, width=4).eval(), (1, 3, 16, 16), name="x")


def test_detr_rejects_uint8_and_float64_images():
    _uint8_and_float64(DETR(DETRConfig.cpu()).eval(), (1, 3, 32, 32))


def test_a_double_model_takes_double_images():
    model = ViT(ViTConfig.tiny_digits()).double().eval()
    assert model(torch.rand(1, 1, 16, 16, dtype=torch.float64)).dtype == torch.float64


def _data():
    x, y = torch.rand(8, 4), torch.randint(0, 2, (8,))
    return torch.utils.data.TensorDataset(x, y)


def test_fit_with_an_unknown_device_lists_the_choices():
    with pytest.raises(ValueError, match=r"device must be one of 'cpu', 'cuda', 'mps', 'auto'.*'cuda:0'.*got 'gpu'.*"
                                         r"use 'cuda' \(or 'cuda:0'\).*'mps'"):
        fit(torch.nn.Linear(4, 2), _data(), steps=1, device="gpu", progress=False)
    history = fit(torch.nn.Linear(4, 2), _data(), steps=1, device="auto", progress=False)
    assert history.steps_done == 1


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_fit_on_a_missing_cuda_says_what_to_use():
    with pytest.raises(ValueError, match=r"device='cuda' was asked for, but no cuda device is available.*'cpu' or "
                                         r"'auto'"):
        fit(torch.nn.Linear(4, 2), _data(), steps=1, device="cuda", progress=False)


def test_plot_history_of_a_dict_says_what_it_expects():
    with pytest.raises(TypeError, match=r"history must be the History returned by vitcourse.fit.*got dict"):
        plot.plot_history({})
    with pytest.raises(ValueError, match=r"empty History.*returned by vitcourse.fit"):
        plot.plot_history(History())


def test_show_images_with_two_channels_says_1_or_3():
    with pytest.raises(ValueError, match=r"images\[0\]: an image must have 1 or 3 channels.*\(2, 8, 8\).*img\[c\]"):
        plot.show_images(torch.rand(2, 2, 8, 8))
    fig = plot.show_images(torch.rand(2, 3, 8, 8))
    assert len(fig.axes) == 2


def test_float_zero_one_mask_says_use_bool():
    """A float mask is added to the scores: a 0/1 float mask would block nothing, so it is refused."""
    q = torch.randn(1, 3, 4)
    keep = torch.tensor([[1.0, 1, 0], [1, 1, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match=r"mask is a float tensor of 0s and 1s.*block nothing.*True = may attend.*"
                                         r"Fix: pass mask\.bool\(\)"):
        scaled_dot_product_attention(q, q, q, keep)
    with pytest.raises(ValueError, match=r"key_mask is a float tensor of 0s and 1s.*Fix: pass key_mask\.bool\(\)"):
        MultiHeadAttention(4, 1)(q, key_mask=torch.tensor([[1.0, 1, 0]]))
    assert scaled_dot_product_attention(q, q, q, keep.bool()).shape == (1, 3, 4)


def test_a_mask_in_pytorchs_opposite_convention_is_refused_with_the_conversion():
    """nn.MultiheadAttention's names mean True = NOT allowed; the course's modules take True = may attend."""
    x = torch.randn(1, 3, 4)
    pad = torch.tensor([[False, False, True]])
    with pytest.raises(TypeError, match=r"key_padding_mask=.*True = NOT allowed.*Fix: pass key_mask=~key_padding_mask"):
        MultiHeadAttention(4, 1)(x, key_padding_mask=pad)
    with pytest.raises(TypeError, match=r"Fix: pass memory_key_mask=~memory_key_padding_mask"):
        DecoderBlock(4, 1)(x, x, memory_key_padding_mask=pad)
    with pytest.raises(TypeError, match=r"DETR takes pixel_mask=.*Fix: pass pixel_mask=~padding_mask"):
        DETR(DETRConfig.cpu())(torch.rand(1, 3, 32, 32), padding_mask=torch.zeros(1, 32, 32, dtype=torch.bool))
    assert MultiHeadAttention(4, 1)(x, key_mask=~pad).shape == (1, 3, 4)
