
import pytest
import torch
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck

from helpers import assert_matches_manifest
from paperlib.method.diffnet import ARCHS, DiffNet, differential_features


def test_resnet101_state_dict_equals_eogi_manifest(shared):
    assert_matches_manifest(DiffNet(17, "resnet101"), shared / "manifests" / "eogi-diffcam-17.json")


def test_resnet101_split_has_17_encoder_blocks():
    net = DiffNet(7, "resnet101")
    blocks = [m for m in net.shared.modules() if isinstance(m, Bottleneck)]
    assert len(blocks) == 3 + 4 + 10
    assert net.target_layer is net.classifier[13]
    assert len(net.target_layer) == 3  # layer4
    assert net.fc.in_features == 2048


@pytest.mark.parametrize("arch", list(ARCHS))
def test_forward_shapes(arch):
    torch.manual_seed(0)
    net = DiffNet(7, arch).eval()
    out = net(torch.rand(2, 6, 64, 64) * 2 - 1)
    assert out.shape == (2, 7)
    block = BasicBlock if arch.startswith(("resnet18", "resnet34")) else Bottleneck
    n3, split = ARCHS[arch]
    assert sum(isinstance(m, block) for m in net.classifier[:-2]) == n3 - split


def test_output_stride_16_gives_the_papers_8x8_grid_at_128():
    """``resnet18-os16``: layer4 keeps layer3's resolution, so 128² gives an 8 × 8 CAM grid (the
    plain ResNet18 gives 4 × 4), with the same parameter shapes."""
    from paperlib.method.pipeline import Components, cam_grid

    grids = {}
    for arch in ("resnet18", "resnet18-os16"):
        net = DiffNet(7, arch).eval()
        c = Components(invert=None, generate=None, direction=None, classifier=net, class_index=None,
                       parse=None, cam_size=128)
        grids[arch] = cam_grid(c)
    assert grids == {"resnet18": [4, 4], "resnet18-os16": [8, 8]}
    shapes = [[tuple(v.shape) for v in DiffNet(7, a).state_dict().values()] for a in ("resnet18", "resnet18-os16")]
    assert shapes[0] == shapes[1]


def test_differential_sign_is_edited_minus_source():
    torch.manual_seed(0)
    enc = torch.nn.Conv2d(3, 4, 3)
    s, e = torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8)
    assert torch.allclose(differential_features(enc, s, e), enc(e) - enc(s))
    net = DiffNet(7, "resnet18").eval()
    same = torch.rand(1, 3, 32, 32)
    # identical halves: zero difference, so the logits are those of a zero feature map
    zero_logits = net.fc(torch.flatten(net.classifier(torch.zeros(1, 256, 2, 2)), 1))
    assert torch.allclose(net(torch.cat([same, same], 1)), zero_logits, atol=1e-6)


def test_construction_downloads_nothing(monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("DiffNet tried to download weights")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", refuse)
    monkeypatch.setattr(torchvision.models._api.WeightsEnum, "get_state_dict", refuse)
    DiffNet(7, "resnet50")


def test_from_checkpoint_round_trip_and_mismatch(tmp_path):
    from paperlib.models import CheckpointMismatch, build
    torch.manual_seed(0)
    net = build("eogi-diffcam", arch="resnet18").eval()
    path = tmp_path / "diff_cam_weight.pt"
    torch.save(net.state_dict(), path)  # the released file is a raw state_dict
    loaded = DiffNet.from_checkpoint(path, arch="resnet18")
    x = torch.rand(1, 6, 64, 64) * 2 - 1
    assert not loaded.training
    assert torch.equal(loaded(x), net(x))
    sd = net.state_dict()
    sd.pop("fc.bias")
    sd["fc.weight"] = torch.zeros(7, 512)
    torch.save(sd, path)
    with pytest.raises(CheckpointMismatch, match=r"missing 1: fc.bias; wrong shape 1: fc.weight \(7, 512\) vs \(17, 512\)"):
        DiffNet.from_checkpoint(path, arch="resnet18")


def test_read_checkpoint_refuses_arbitrary_pickles(tmp_path, monkeypatch):
    import argparse
    from paperlib.models._checkpoint import CheckpointMismatch, read_checkpoint
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {}, "opts": argparse.Namespace(a=1)}, path)  # not weights-only
    monkeypatch.delenv("PAPERLIB_TRUST_CHECKPOINTS", raising=False)
    with pytest.raises(CheckpointMismatch, match=r"not loadable with weights_only=True .*PAPERLIB_TRUST_CHECKPOINTS=1"):
        read_checkpoint(path)
    (tmp_path / "garbage.pt").write_bytes(b"<html>quota exceeded</html>")
    with pytest.raises(CheckpointMismatch, match="delete it and download again"):
        read_checkpoint(tmp_path / "garbage.pt")
    monkeypatch.setenv("PAPERLIB_TRUST_CHECKPOINTS", "1")
    with pytest.warns(UserWarning, match="unpickling fully"):
        assert read_checkpoint(path)["opts"].a == 1
