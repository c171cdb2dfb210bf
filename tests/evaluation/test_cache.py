"""A damaged cache entry (a truncated PNG or JSON, e.g. after a power cut) is detected, reported
in one line, moved aside and recomputed; it is never read as data."""

from __future__ import annotations

import shutil

import pytest
import torch

from paperlib.evaluation.cache import CorruptEntry, EvalCache, load_png, png_complete
from paperlib.infra.files import read_json
from paperlib.method.diffnet import DiffNet
from paperlib.evaluation.evaluate import evaluate
from paperlib.profiles.synthetic import setup as synthetic_setup
from paperlib.synth import SynthInverter, SynthWorld

N, ATTRS, BATCH = 2, ("Smiling",), 2
OUTPUTS = ("table1_lpips.csv", "table2_mae.csv", "table3_fid.csv", "localization.csv", "tables.md")


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    return synthetic_setup(N, size=64, classifier=DiffNet(7, "resnet18").eval(),
                           inverter=SynthInverter(SynthWorld(64), n_train=400), progress=False)


@pytest.fixture(scope="module")
def reference(setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    evaluate(setup, out, attributes=ATTRS, methods=("pSp", "EOGI", "Diff-CAM++"), batch=BATCH, progress=False)
    return out


def _run(setup, out):
    return evaluate(setup, out, attributes=ATTRS, methods=("pSp", "EOGI", "Diff-CAM++"), batch=BATCH, progress=False)


def _same_outputs(a, b):
    for name in OUTPUTS:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture
def copy(reference, tmp_path):
    out = tmp_path / "eval"
    shutil.copytree(reference / "cache", out / "cache")
    return out


def test_truncated_png_is_recomputed(setup, reference, copy, capsys):
    png = EvalCache(copy / "cache").image("EOGI", "Smiling", 1)
    good = png.read_bytes()
    png.write_bytes(good[: len(good) // 2])
    res = _run(setup, copy)
    err = capsys.readouterr().err
    assert (f"cache: {png} is corrupt (truncated PNG, {len(good) // 2} bytes without an end chunk); moved to "
            f"{png.name}.corrupt and recomputing") in err
    assert res.batches_computed == 1
    assert png.read_bytes() == good  # the same bytes again
    assert (png.parent / f"{png.name}.corrupt").is_file()
    _same_outputs(copy, reference)


@pytest.mark.parametrize("which", ["record", "manifest"])
def test_truncated_json_is_recomputed(setup, reference, copy, capsys, which):
    cache = EvalCache(copy / "cache")
    path = {"record": cache.record("Smiling", [0, 1]), "manifest": cache.manifest_path}[which]
    text = path.read_text()
    path.write_text(text[: len(text) // 3])
    _run(setup, copy)
    err = capsys.readouterr().err
    assert f"cache: {path} is corrupt (not valid JSON: " in err and "; moved to" in err
    assert read_json(path, None) is not None
    _same_outputs(copy, reference)


def test_truncated_features_are_recomputed(setup, tmp_path, capsys):
    """FID features (.npz) cut short: reported, moved aside, the chunk recomputed (no PNG kept to
    score again), FID unchanged."""
    from paperlib.evaluation.metrics import FIDMetric

    fid = FIDMetric(features=lambda x: x.mean(dim=(2, 3)), progress=False)
    out = tmp_path / "fid"
    kw = dict(attributes=ATTRS, methods=("pSp", "EOGI"), batch=BATCH, fid=fid, keep_images=0, progress=False)
    evaluate(setup, out, **kw)
    assert not (out / "cache" / "images").exists()
    before = (out / "table3_fid.csv").read_bytes()
    npz = EvalCache(out / "cache").features("Smiling", [0, 1])
    data = npz.read_bytes()
    npz.write_bytes(data[: len(data) // 2])
    (out / "cache" / "fid.json").unlink()  # so FID is computed again from the features
    res = evaluate(setup, out, **kw)
    assert f"cache: {npz} is corrupt (not a readable .npz: " in capsys.readouterr().err
    assert res.batches_computed == 1
    assert (out / "table3_fid.csv").read_bytes() == before


def test_png_that_does_not_decode_is_regenerated(setup, reference, copy, capsys):
    """A kept PNG with its end chunk but damaged data is caught when scored (here: a stand-in LPIPS
    appears, so the kept PNGs are scored again), moved aside and regenerated."""
    from paperlib.evaluation.metrics import LPIPSMetric

    cache = EvalCache(copy / "cache")
    png = cache.image("pSp", "Smiling", 0)
    good = png.read_bytes()
    png.write_bytes(good[:60] + bytes(200) + good[260:])
    lp = LPIPSMetric(net=lambda x, y: (x - y).abs().flatten(1).mean(1))
    evaluate(setup, copy, attributes=ATTRS, methods=("pSp", "EOGI", "Diff-CAM++"), batch=BATCH, lpips=lp,
             progress=False)
    assert f"cache: {png} is corrupt (does not decode: " in capsys.readouterr().err
    assert png.read_bytes() == good
    assert (copy / "table2_mae.csv").read_bytes() == (reference / "table2_mae.csv").read_bytes()


def test_helpers_refuse_damaged_files(tmp_path, capsys):
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(40))
    assert not png_complete(bad) and not bad.exists()
    assert not png_complete(tmp_path / "missing.png")
    odd = tmp_path / "y.png"
    odd.write_bytes(b"garbage" + b"\x00\x00\x00\x00IEND\xaeB`\x82")
    with pytest.raises(CorruptEntry, match=rf"^cache: {odd} is corrupt \(.*\); run the command again to recompute it$"):
        load_png(odd)
    assert (tmp_path / "y.png.corrupt").is_file()
    assert len(capsys.readouterr().err.strip().splitlines()) == 2  # one line per damaged file


def test_cache_of_an_older_layout_is_moved_aside(setup, reference, tmp_path, capsys):
    import json

    out = tmp_path / "old"
    (out / "cache" / "images").mkdir(parents=True)
    (out / "cache" / "manifest.json").write_text(json.dumps({"params": {"profile": "synthetic"}}))
    _run(setup, out)
    assert (f"cache: {out / 'cache'} has an older layout (format 1); moved to cache.format1, starting a new cache"
            in capsys.readouterr().err)
    assert (out / "cache.format1" / "images").is_dir()
    _same_outputs(out, reference)
