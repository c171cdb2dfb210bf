import re

import pytest
import torch
import torch.utils.model_zoo

from helpers import assert_matches_manifest
from paperlib.models import CheckpointMismatch
from paperlib.models.bisenet import IMAGENET_MEAN, IMAGENET_STD, BiSeNet


def _randomise_bn(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give batch-norm buffers non-default values so that a lost buffer changes the outputs."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            m.num_batches_tracked.fill_(7)
    return net


@pytest.fixture(scope="module")
def net() -> BiSeNet:
    torch.manual_seed(0)
    with torch.no_grad():
        return _randomise_bn(BiSeNet()).eval()


def test_state_dict_equals_official_manifest(shared, net):
    assert_matches_manifest(BiSeNet(), shared / "manifests" / "face-parsing-bisenet-19.json")


def test_construction_downloads_nothing(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("BiSeNet tried to download weights")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torch.utils.model_zoo, "load_url", refuse)
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    BiSeNet()


@pytest.mark.parametrize("n_classes", [1, 2.0, True, "19"])
def test_bad_n_classes(n_classes):
    with pytest.raises(ValueError, match=r"^n_classes: expected an integer >= 2, got "):
        BiSeNet(n_classes)


def test_forward_at_512_shapes_and_finite(net):
    torch.manual_seed(1)
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 512, 512))
    assert isinstance(outs, tuple) and len(outs) == 3
    for o in outs:
        assert o.shape == (1, 19, 512, 512)
        assert torch.isfinite(o).all()
    # three distinct heads (main first): they must not be copies of each other
    assert not torch.allclose(outs[0], outs[1]) and not torch.allclose(outs[1], outs[2])


def test_forward_other_class_count_and_odd_size():
    torch.manual_seed(0)
    small = BiSeNet(n_classes=5).eval()
    with torch.no_grad():
        outs = small(torch.randn(2, 3, 70, 50))
    assert [tuple(o.shape) for o in outs] == [(2, 5, 70, 50)] * 3


def test_forward_rejects_wrong_channels(net):
    with pytest.raises(ValueError, match=re.escape("x: expected 3 channels (RGB), got 4 in shape (1, 4, 32, 32)")):
        net(torch.zeros(1, 4, 32, 32))


def _manual_parse(net, images):
    x = torch.nn.functional.interpolate(images, size=(512, 512), mode="bilinear", align_corners=False, antialias=False)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        return net((x - mean) / std)[0].argmax(1)


def test_parse_at_512_is_argmax_of_main_output(net):
    torch.manual_seed(2)
    images = torch.rand(1, 3, 512, 512)
    labels = net.parse(images)
    assert labels.dtype == torch.int64 and labels.shape == (1, 512, 512)
    assert labels.min() >= 0 and labels.max() <= 18
    assert torch.equal(labels, _manual_parse(net, images))
    assert len(labels.unique()) > 1  # random weights still give more than one label


def test_parse_small_non_square_input(net):
    torch.manual_seed(3)
    images = torch.rand(1, 3, 64, 48)
    labels = net.parse(images)
    assert labels.dtype == torch.int64 and labels.shape == (1, 64, 48)
    assert labels.min() >= 0 and labels.max() <= 18
    # nearest resize of the 512x512 labels: row i takes row floor(i * 512 / 64), column j floor(j * 512 / 48)
    full = _manual_parse(net, images)[0]
    rows = (torch.arange(64) * 512 / 64).floor().long()
    cols = (torch.arange(48) * 512 / 48).floor().long()
    assert torch.equal(labels[0], full[rows][:, cols])


def test_round_trip_through_raw_state_dict_file(tmp_path, net):
    path = tmp_path / "79999_iter.pth"
    torch.save(net.state_dict(), path)  # the official layout: a raw state_dict
    loaded = BiSeNet.from_checkpoint(path)
    assert not loaded.training
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(net(x), loaded(x)):
            assert torch.equal(a, b)
    fresh = BiSeNet().eval()
    with torch.no_grad():
        assert not torch.allclose(fresh(x)[0], net(x)[0])  # the load really changed the weights


@pytest.mark.parametrize("change, message", [
    ("missing", "missing 1: cp.arm16.bn_atten.running_var"),
    ("unexpected", "unexpected 1: sp.conv1.conv.weight"),
    ("shape", "wrong shape 1: conv_out.conv_out.weight (18, 256, 1, 1) vs (19, 256, 1, 1)"),
])
def test_mismatched_file_names_the_key(tmp_path, net, change, message):
    sd = dict(net.state_dict())
    if change == "missing":
        del sd["cp.arm16.bn_atten.running_var"]
    elif change == "unexpected":
        sd["sp.conv1.conv.weight"] = torch.zeros(64, 3, 7, 7)
    else:
        sd["conv_out.conv_out.weight"] = torch.zeros(18, 256, 1, 1)
    path = tmp_path / "bad.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointMismatch, match=re.escape(message)) as info:
        BiSeNet.from_checkpoint(path)
    assert "\n" not in str(info.value) and "BiSeNet" in str(info.value)


def test_parse_other_class_count_checkpoint(tmp_path):
    torch.manual_seed(4)
    seven = BiSeNet(n_classes=7)
    path = tmp_path / "seven.pth"
    torch.save(seven.state_dict(), path)
    with pytest.raises(CheckpointMismatch, match=re.escape("conv_out.conv_out.weight (7, 256, 1, 1) vs (19, 256, 1, 1)")):
        BiSeNet.from_checkpoint(path)
    labels = BiSeNet.from_checkpoint(path, n_classes=7).parse(torch.rand(1, 3, 16, 16))
    assert labels.shape == (1, 16, 16) and labels.max() <= 6


@pytest.mark.parametrize("images, message", [
    (torch.rand(1, 4, 8, 8), "images: expected 3 channels (RGB), got 4 in shape (1, 4, 8, 8)"),
    (torch.rand(1, 1, 8, 8), "images: expected 3 channels (RGB), got 1 in shape (1, 1, 8, 8)"),
    (torch.rand(3, 8, 8), "images: expected 4 dimensions, got shape (3, 8, 8)"),
    (torch.full((1, 3, 8, 8), float("nan")), "images: contains NaN or infinite values; clean the input first"),
    (torch.full((1, 3, 8, 8), float("inf")), "images: contains NaN or infinite values; clean the input first"),
    (torch.full((1, 3, 8, 8), 255.0), "images: expected values in [0, 1], got [255, 255]"),
    (torch.full((1, 3, 8, 8), -0.5), "images: expected values in [0, 1], got [-0.5, -0.5]"),
    (torch.zeros(1, 3, 8, 8, dtype=torch.uint8), "images: expected a floating-point tensor, got torch.uint8"),
])
def test_parse_rejects_bad_images(net, images, message):
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        net.parse(images)
