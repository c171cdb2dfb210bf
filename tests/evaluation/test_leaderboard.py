"""The CAM leaderboard: every combination in the tables, numbers equal to a direct recomputation,
resume recomputes nothing, bad arguments give one-line errors."""

import csv
import dataclasses
import json

import pytest
import torch

from helpers import small_synthetic_setup
import paperlib.evaluation.leaderboard as lb
from paperlib.method.attributes import ATTRIBUTES
from paperlib.evaluation.cache import EvalCache
from paperlib.method.cam import compute_cam
from paperlib.cli import main
from paperlib.method.diffnet import cam_layer
from paperlib.method.masks import blend, blur_mask, fuse_masks, segmentation_masks
from paperlib.method.pipeline import edit_variants
from paperlib.synth.scores import blend_errors, intended_region, localization

N, BATCH = 2, 1  # chunks [0] and [1]


@pytest.fixture(scope="module")
def setup():
    return small_synthetic_setup(N, "resnet18-os16")


@pytest.fixture(scope="module")
def run(setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("leaderboard")
    return lb.leaderboard(setup, out, batch=BATCH, progress=False), out


def test_every_combination_in_the_tables(run):
    result, out = run
    names = [lb.combination_name(c) for c in lb.combinations()]
    assert len(names) == len(set(names)) == len(lb.CAMS) * len(lb.LAYERS) * len(lb.POSTPROCESSING) * 2 == 112
    key = ("cam", "layer", "segmentation", "postprocessing")
    assert sorted(lb.combination_name([r[k] for k in key]) for r in result.rows) == sorted(names)
    assert [r["iou"] for r in result.rows] == sorted((r["iou"] for r in result.rows), reverse=True)
    assert all(r["n"] == N * len(ATTRIBUTES) for r in result.rows)
    assert len(result.per_attribute) == 112 * len(ATTRIBUTES) and all(r["n"] == N for r in result.per_attribute)
    for r in result.rows:
        assert 0 <= r["iou"] <= 1 and r["iou_se"] >= 0 and r["time_ms"] > 0
        assert 0 <= r["mae_outside"] <= 1 and 0 <= r["mae_inside"] <= 1
    with open(out / "leaderboard.csv") as f:
        assert len(list(csv.DictReader(f))) == 112 * (1 + len(ATTRIBUTES))
    meta = json.loads((out / "leaderboard.json").read_text())
    assert meta["provenance"]["n_images"] == N and "git" in meta["provenance"]
    assert list(meta["provenance"]["cams"]) == list(lb.CAMS)
    md = (out / "leaderboard.md").read_text()
    assert all(cam in md for cam in lb.CAMS) and all(a in md for a in ATTRIBUTES)
    # the channel-weighted methods agree at layer4 (constant gradient per channel before pooling)
    by = {lb.combination_name([r[k] for k in key]): r for r in result.rows}
    assert by["HiResCAM | layer4 | off | none"]["iou"] == pytest.approx(by["Grad-CAM (Diff-CAM) | layer4 | off | none"]["iou"])


def _cached(out, attribute, name, i):
    scores = lb.collect(EvalCache(out / "cache"), N, BATCH)
    return {k: v[i] for k, v in scores[attribute][name].items()}


def test_numbers_equal_a_direct_recomputation(setup, run):
    """Face 1 (in the second chunk) and Smiling: Diff-CAM++'s map with eq 10 through the pipeline and its
    ground-truth hook, and HiResCAM at layer4's block before last with eq 10 and the blur, computed by
    hand on the plain DiffNet."""
    _, out = run
    i, attribute = 1, "Smiling"
    src = setup.load_sources([i])
    parsing = setup.source_parsing([i], src)
    e = edit_variants(setup.components, src, attribute, ("Diff-CAM++",), parsing_source=parsing)
    want = setup.ground_truth.score(e, attribute, 20.0)["Diff-CAM++"]
    got = _cached(out, attribute, "Grad-CAM++ +TTA+Eigen (Diff-CAM++) | layer4 | eq 10 | none", i)
    for k in ("iou", "precision", "recall", "mae_outside", "mae_inside"):
        assert got[k] == pytest.approx(want[k][0], abs=1e-5), k

    net = setup.components.classifier
    pair = torch.cat([e.reconstruction, e.edited], dim=1)
    layer = cam_layer(net, "layer4, block before last")
    cam = compute_cam(net, layer, pair, setup.components.class_index(attribute), method="hirescam")
    s_org, s_modif = segmentation_masks(parsing, setup.components.exact_parsing(e.edited_latents), attribute)
    mask = blur_mask(fuse_masks(s_org, s_modif, cam), 4.0 * 64 / 128)
    region = intended_region(setup.ground_truth.world, e.latents, attribute)
    want = {**localization(mask, region), **blend_errors(blend(e.edited, src, mask), src, e.edited, region)}
    got = _cached(out, attribute, "HiResCAM | layer4, block before last | eq 10 | blur 4px", i)
    for k, v in want.items():
        assert got[k] == pytest.approx(v.item(), abs=1e-5), k


def test_resume_recomputes_nothing(setup, run, monkeypatch):
    result, out = run
    before = (out / "leaderboard.json").read_text()

    def fail(*args, **kwargs):
        raise AssertionError("a complete chunk was recomputed")

    monkeypatch.setattr(lb, "compute_chunk", fail)
    again = lb.leaderboard(setup, out, batch=BATCH, progress=False)
    assert (again.chunks_computed, again.chunks_cached) == (0, 2)
    assert again.rows == result.rows
    assert json.loads(before)["rows"] == json.loads((out / "leaderboard.json").read_text())["rows"]
    with pytest.raises(ValueError, match="^out_dir: .*batch"):  # a cache made with other chunks is refused
        lb.leaderboard(setup, out, batch=BATCH + 1, progress=False)


def test_bad_arguments_one_line(setup, tmp_path, tmp_project, capsys):
    assert main(["leaderboard", "--profile", "paper", "--n-images", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: profile: the paper profile has no ground-truth") and err.count("\n") == 1
    assert main(["leaderboard", "--classifier", str(tmp_path / "none.pt"), "--n-images", "2"]) == 2
    err = capsys.readouterr().err
    assert f"classifier: {tmp_path / 'none.pt'} does not exist" in err and err.count("\n") == 1
    (tmp_path / "file").write_text("")
    assert main(["leaderboard", "--out", str(tmp_path / "file"), "--n-images", "2"]) == 2
    assert capsys.readouterr().err.startswith("error: out: ")
    with pytest.raises(SystemExit) as exit_:
        main(["leaderboard", "--n-images", "0"])
    assert exit_.value.code == 2
    assert not (tmp_path / "runs").exists()  # nothing created
    with pytest.raises(ValueError, match="^batch: "):
        lb.leaderboard(setup, tmp_path / "lb", batch=0)
    with pytest.raises(ValueError, match="^profile: "):
        lb.leaderboard(dataclasses.replace(setup, ground_truth=None), tmp_path / "lb")
