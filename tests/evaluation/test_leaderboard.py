"""The CAM leaderboard: every combination in the tables, numbers equal to a direct recomputation, the
ceiling above every method, library maps equal to pytorch-grad-cam's, resume recomputes nothing, bad
arguments give one-line errors."""

import csv
import dataclasses
import json
import math

import pytest
import torch
from pytorch_grad_cam import EigenGradCAM, FinerCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from helpers import small_synthetic_setup
import paperlib.evaluation.leaderboard as lb
from paperlib.method.attributes import ATTRIBUTES
from paperlib.evaluation.cache import EvalCache
from paperlib.method.cam import compute_cam
from paperlib.cli import main
from paperlib.method.diffnet import DiffNet, SourceEncoded, cam_layer
from paperlib.method.masks import blend, blur_mask, fuse_masks, segmentation_masks
from paperlib.method.pipeline import edit_variants
from paperlib.synth.scores import blend_errors, intended_region, localization

N, BATCH = 2, 1  # chunks [0] and [1]
#: The small run's CAMs: the ones the recomputation checks, one channel-weighted method and two library methods.
SELECTED = ("Grad-CAM (Diff-CAM)", "HiResCAM", "Grad-CAM++ +TTA+Eigen (Diff-CAM++)", "Eigen-CAM", "Random-CAM")


@pytest.fixture(scope="module")
def setup():
    return small_synthetic_setup(N, "resnet18-os16")


@pytest.fixture(scope="module")
def run(setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("leaderboard")
    return lb.leaderboard(setup, out, batch=BATCH, progress=False, cams=SELECTED), out


def test_the_default_combinations():
    """Every paperlib CAM x layer x segmentation x post-processing (112), every default library CAM at layer4
    x segmentation, the uniform rows and the ceiling of each layer; the slow library methods only when named."""
    combos = lb.combinations()
    names = [lb.combination_name(c) for c in combos]
    library = [c for c in lb.LIBRARY_CAMS if c not in lb.OPT_IN]
    assert len(names) == len(set(names)) == 112 + 2 * len(library) + 2 + 2 * len(lb.LAYERS)
    assert not any(c[0] in lb.OPT_IN for c in combos)
    assert {c[1] for c in combos if c[0] in lb.LIBRARY_CAMS} == {"layer4"}
    assert lb.combinations(["Score-CAM"], ["layer3, last block"]) == [
        ("Score-CAM", "layer3, last block", s, "none") for s in lb.SEGMENTATION] + [
        (lb.UNIFORM, lb.ANY_LAYER, s, "none") for s in lb.SEGMENTATION] + [
        (lb.CEILING, "layer3, last block", s, lb.BEST_THRESHOLD) for s in lb.SEGMENTATION]


def test_every_combination_in_the_tables(run):
    result, out = run
    combos = lb.combinations(SELECTED)
    names = [lb.combination_name(c) for c in combos]
    assert len(names) == 3 * len(lb.LAYERS) * len(lb.POSTPROCESSING) * 2 + 2 * 2 + 2 + 2 * len(lb.LAYERS)
    key = ("cam", "layer", "segmentation", "postprocessing")
    assert sorted(lb.combination_name([r[k] for k in key]) for r in result.rows) == sorted(names)
    assert [r["iou"] for r in result.rows] == sorted((r["iou"] for r in result.rows), reverse=True)
    assert all(r["n"] == N * len(ATTRIBUTES) for r in result.rows)
    assert len(result.per_attribute) == len(names) * len(ATTRIBUTES) and all(r["n"] == N for r in result.per_attribute)
    for r in result.rows:
        assert 0 <= r["iou"] <= 1 and r["iou_se"] >= 0 and r["time_ms"] >= 0
        assert 0 <= r["pointing"] <= 1 and 0 <= r["energy"] <= 1 and math.isfinite(r["edit_kept"])
        assert 0 <= r["mae_outside"] <= 1 and 0 <= r["mae_inside"] <= 1
    with open(out / "leaderboard.csv") as f:
        assert len(list(csv.DictReader(f))) == len(names) * (1 + len(ATTRIBUTES))
    meta = json.loads((out / "leaderboard.json").read_text())
    assert meta["provenance"]["n_images"] == N and "git" in meta["provenance"]
    assert list(meta["provenance"]["cams"]) == list(lb.CAMS)
    assert 0 <= max(meta["provenance"]["library_check"].values()) <= 1e-4  # paperlib's plain maps = the library's
    md = (out / "leaderboard.md").read_text()
    assert all(cam in md for cam in SELECTED) and all(a in md for a in ATTRIBUTES)
    assert lb.UNIFORM in md and lb.CEILING in md and "pointing game" in md
    # the channel-weighted methods agree at layer4 (constant gradient per channel before pooling)
    by = {lb.combination_name([r[k] for k in key]): r for r in result.rows}
    assert by["HiResCAM | layer4 | off | none"]["iou"] == pytest.approx(by["Grad-CAM (Diff-CAM) | layer4 | off | none"]["iou"])


def _cached(out, attribute, name, i):
    scores, _ = lb.collect(EvalCache(out / "cache"), N, BATCH, lb.combinations(SELECTED))
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
    again = lb.leaderboard(setup, out, batch=BATCH, progress=False, cams=SELECTED)
    assert (again.chunks_computed, again.chunks_cached) == (0, 2)
    assert again.rows == result.rows
    assert json.loads(before)["rows"] == json.loads((out / "leaderboard.json").read_text())["rows"]
    with pytest.raises(ValueError, match="^out_dir: .*batch"):  # a cache made with other chunks is refused
        lb.leaderboard(setup, out, batch=BATCH + 1, progress=False, cams=SELECTED)


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
    for option, value, message in (("--cams", "Nope-CAM", "cams: unknown CAM 'Nope-CAM'"),
                                   ("--layers", "layer9", "layers: unknown CAM layer 'layer9'"),
                                   ("--rank-by", "beauty", "rank_by: unknown column 'beauty'")):
        assert main(["leaderboard", option, value, "--n-images", "2"]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}; expected one of ") and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_:
        main(["leaderboard", "--n-images", "0"])
    assert exit_.value.code == 2
    assert not (tmp_path / "runs").exists()  # nothing created
    with pytest.raises(ValueError, match="^batch: "):
        lb.leaderboard(setup, tmp_path / "lb", batch=0)
    with pytest.raises(ValueError, match="^profile: "):
        lb.leaderboard(dataclasses.replace(setup, ground_truth=None), tmp_path / "lb")


def test_the_ceiling_bounds_every_method(run):
    """Over the small run, the ceiling's IoU is at least every method's of the same segmentation, the uniform
    map's at most (its IoU is the region's share of the image); shares run from 0 (uniform) to 1 (ceiling)."""
    result, _ = run
    for seg in lb.SEGMENTATION:
        rows = [r for r in result.rows if r["segmentation"] == seg]
        ceiling = min(r["iou"] for r in rows if r["cam"] == lb.CEILING)
        uniform = next(r for r in rows if r["cam"] == lb.UNIFORM)
        methods = [r for r in rows if r["cam"] not in (lb.CEILING, lb.UNIFORM)]
        assert ceiling >= max(r["iou"] for r in methods) and ceiling > uniform["iou"]
        assert uniform["iou_share"] == 0 and all(r["iou_share"] == pytest.approx(1) for r in rows
                                                 if r["cam"] == lb.CEILING)
        assert all(r["iou_share"] <= 1 for r in methods)
    off = next(r for r in result.rows if r["cam"] == lb.UNIFORM and r["segmentation"] == "off")
    assert off["recall"] == 1 and off["edit_kept"] == pytest.approx(1, abs=0.3)


def test_ranking_by_any_column(run):
    _, out = run
    scores, _ = lb.collect(EvalCache(out / "cache"), N, BATCH, lb.combinations(SELECTED))
    for column in ("pointing", "mae_outside", "iou_share"):
        rows, _ = lb.table_rows(scores, lb.combinations(SELECTED), column)
        values = [r[column] for r in rows if not math.isnan(r[column])]
        assert values == sorted(values, reverse=column not in lb.LOWER_IS_BETTER)


def test_pointing_game():
    """The maximum inside the region (or within the tolerance) scores 1, far from it 0; a constant map the
    share of the image near the region."""
    region = torch.zeros(1, 64, 64, dtype=torch.bool)
    region[0, 10:20, 10:20] = True
    m = torch.zeros(1, 64, 64)
    m[0, 15, 15] = 1
    assert lb.pointing_game(m, region).item() == 1
    m[0, 15, 15], m[0, 15, 22] = 0, 1  # 3 px right of the region: within 15 px at 224² (4 px at 64²)
    assert lb.pointing_game(m, region).item() == 1
    m[0, 15, 22], m[0, 50, 50] = 0, 1
    assert lb.pointing_game(m, region).item() == 0
    near = lb.pointing_game(torch.ones(1, 64, 64), region).item()
    assert 100 / 64 ** 2 < near < 18 ** 2 / 64 ** 2  # the region, grown by at most 4 px on each side


def test_library_maps_equal_pytorch_grad_cam():
    """A library method through the leaderboard (the chunk's SourceEncoded, the library's own call) is the map
    pytorch-grad-cam returns on the same input for the plain network."""
    torch.manual_seed(5)
    net = DiffNet(7, "resnet18-os16").eval()
    x = torch.rand(2, 6, 64, 64) * 2 - 1
    combos = [("EigenGrad-CAM", "layer4", "off", "none"), ("Finer-CAM", "layer4, block before last", "off", "none")]
    maps, seconds = lb.library_maps(SourceEncoded(net, x[:, :3], tta=True), x, 3, (64, 64), combos)
    want = {("EigenGrad-CAM", "layer4"): EigenGradCAM(net, [net.target_layer])(x, [ClassifierOutputTarget(3)] * 2),
            ("Finer-CAM", "layer4, block before last"): FinerCAM(net, [net.target_layer[-2]])(x, target_idx=3)}
    for k, ref in want.items():
        assert (maps[k] - torch.from_numpy(ref)).abs().max().item() <= 1e-5 and seconds[k] > 0
        assert maps[k].std() > 0
