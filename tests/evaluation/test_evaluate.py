"""The evaluation (Tables 1-3): synthetic end to end, cache/resume, published numbers, paper wiring."""

import dataclasses
import json
import re
import shutil

import pytest
import torch

from helpers import small_synthetic_setup
from paperlib.method.attributes import TABLE_ATTRIBUTES
from paperlib.evaluation.cache import load_png, to_uint8
from paperlib.evaluation.evaluate import compute_batch, evaluate
from paperlib.evaluation.methods import ALL_METHODS, MASK_METHODS
from paperlib.evaluation.metrics import FIDMetric, LPIPSMetric, available_metrics, mae
from paperlib.evaluation.published import TABLES

N, ATTRS, BATCH = 3, ("Smiling",), 2


@pytest.fixture(scope="module")
def setup():
    return small_synthetic_setup(N)


@pytest.fixture(scope="module")
def full_run(setup, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval-full")
    return evaluate(setup, out, attributes=ATTRS, batch=BATCH, progress=False)


def _csv(path):
    import csv
    with open(path) as f:
        return list(csv.DictReader(f))


def test_synthetic_end_to_end(setup, full_run):
    out = full_run.out_dir
    for name in ("table1_lpips", "table2_mae", "table3_fid"):
        assert (out / f"{name}.csv").is_file() and (out / f"{name}.json").is_file()
    for name in ("tables.md", "localization.csv", "localization.json", "localization.md", "judges.csv", "judges.md"):
        assert (out / name).is_file()
    rows = {r["method"]: r for r in _csv(out / "table2_mae.csv")}
    assert set(rows) == set(ALL_METHODS)
    for m in ALL_METHODS:
        assert rows[m]["status"] == "ok" and int(rows[m]["n"]) == N  # e4e / ReStyle: SynthFace analogues
        assert 0 <= float(rows[m]["mean"]) < 1 and float(rows[m]["std"]) >= 0
        pub = TABLES["MAE"]["Smiling"].get(m)
        if pub is None:  # an ablation variant: no published number, no delta
            assert rows[m]["published_mean"] == rows[m]["delta"] == ""
        else:
            assert float(rows[m]["delta"]) == pytest.approx(float(rows[m]["mean"]) - pub[0])
    # the masks keep the photo outside the edit: every masked method is closer to I than T (pSp) is
    assert max(float(rows[m]["mean"]) for m in MASK_METHODS) < float(rows["pSp"]["mean"])
    meta = json.loads((out / "table2_mae.json").read_text())
    prov = meta["provenance"]
    for key in ("git", "params", "assets", "versions", "timings", "metrics"):
        assert key in prov
    assert prov["params"]["profile"] == "synthetic" and prov["params"]["alpha"] == 20.0
    assert prov["timings"]["generate_s"] > 0 and prov["versions"]["torch"] == torch.__version__
    assert len(prov["params"]["classifier"]) == 64  # sha256 of the injected classifier
    loc = _csv(out / "localization.csv")
    assert [r["variant"] for r in loc if r["attribute"] == "all"] == list(MASK_METHODS.values())[:1] + [
        "Grad-CAM++", "+TTA", "+Eigen", "+TTA+Eigen", "Diff-CAM++", "Diff-CAM++ (authors' code)"]
    assert all(int(r["n"]) == N for r in loc)


def test_every_row_says_how_much_edit_it_kept(full_run):
    """Beside every method's number, the exact edit kept (SynthFace): pSp outputs the generator's edit
    itself, so it keeps most of the ideal change; every judge is cached per image."""
    for file in ("table1_lpips.csv", "table2_mae.csv", "table3_fid.csv"):
        rows = [r for r in _csv(full_run.out_dir / file) if r["status"] != "n/a"]
        assert rows and all(r["edit_kept_judge"] == "exact" and int(r["edit_kept_n"]) == N for r in rows)
    kept = {r["method"]: float(r["edit_kept"]) for r in _csv(full_run.out_dir / "table2_mae.csv")}
    assert kept["pSp"] > 0.5 and all(-1 < v < 2 for v in kept.values())
    assert "edit kept ↑" in (full_run.out_dir / "tables.md").read_text()
    record = json.loads(next((full_run.out_dir / "cache").rglob("chunks/*/*.json")).read_text())
    assert {"kept:exact", "kept:strength", "kept:projection", "kept:classifier"} <= set(record["values"]["pSp"])


def test_lpips_fid_computed_or_marked_unavailable(full_run):
    md = (full_run.out_dir / "tables.md").read_text()
    reasons = available_metrics(fetch=True)  # what evaluate saw: the test session is offline (tests/conftest.py)
    for metric, key, file in (("LPIPS", "lpips", "table1_lpips.csv"), ("FID", "fid", "table3_fid.csv")):
        rows = [r for r in _csv(full_run.out_dir / file) if r["status"] != "n/a"]
        assert rows
        if reasons[key] is None:
            assert all(r["status"] == "ok" and r["mean"] != "" for r in rows)
        else:
            assert all(r["status"] == "unavailable" and r["note"] == reasons[key] and r["mean"] == "" for r in rows)
            assert md.count(reasons[key]) == 1  # the reason once, as a note under its table
            assert "python -m paperlib download" in reasons[key]


def test_cached_values_are_the_metrics_of_the_outputs(setup, full_run):
    """pSp's cached image is T = G(w + 20 n); the MAE cell is the mean of the per-image MAEs."""
    c = setup.components
    src = setup.load_sources(range(N))
    w = c.invert(src)
    t = c.generate(w + 20 * c.direction("Smiling"))
    cache = full_run.out_dir / "cache"
    pngs = torch.stack([load_png(cache / "images" / "psp" / "Smiling" / f"{i:05d}.png") for i in range(N)])
    assert torch.equal((pngs * 255).round().to(torch.uint8), to_uint8(t).permute(0, 3, 1, 2))
    per_image = mae(pngs, to_uint8(src).permute(0, 3, 1, 2).float() / 255)
    row = next(r for r in _csv(full_run.out_dir / "table2_mae.csv") if r["method"] == "pSp")
    assert float(row["mean"]) == pytest.approx(per_image.mean().item(), rel=1e-6)


def test_resumed_evaluation_equals_uninterrupted(setup, full_run, tmp_path):
    calls = {"n": 0}
    generate = setup.components.generate

    def failing(w):
        calls["n"] += 1
        if calls["n"] > 2:  # the first chunk (2 generator calls) completes, the second is interrupted
            raise KeyboardInterrupt
        return generate(w)

    broken = dataclasses.replace(setup, components=dataclasses.replace(setup.components, generate=failing))
    with pytest.raises(KeyboardInterrupt):
        evaluate(broken, tmp_path, attributes=ATTRS, batch=BATCH, progress=False)
    done = list((tmp_path / "cache" / "images").rglob("*.png"))
    assert 0 < len(done) < len(list((full_run.out_dir / "cache" / "images").rglob("*.png")))
    resumed = evaluate(setup, tmp_path, attributes=ATTRS, batch=BATCH, progress=False)
    assert resumed.batches_cached == 1 and resumed.batches_computed == 1
    for name in ("table1_lpips.csv", "table2_mae.csv", "table3_fid.csv", "localization.csv", "tables.md"):
        assert (tmp_path / name).read_bytes() == (full_run.out_dir / name).read_bytes(), name
    for p in (full_run.out_dir / "cache" / "images").rglob("*.png"):
        assert (tmp_path / p.relative_to(full_run.out_dir)).read_bytes() == p.read_bytes()
    # a chunk with a missing file is recomputed whole; a re-render computes nothing
    (tmp_path / "cache" / "images" / "eogi" / "Smiling" / "00001.png").unlink()
    again = evaluate(setup, tmp_path, attributes=ATTRS, batch=BATCH, progress=False)
    assert (again.batches_computed, again.batches_cached) == (1, 1)
    assert (tmp_path / "table2_mae.csv").read_bytes() == (full_run.out_dir / "table2_mae.csv").read_bytes()
    rerender = evaluate(setup, tmp_path, attributes=ATTRS, batch=BATCH, progress=False, render_only=True)
    assert rerender.batches_computed == 0
    assert (tmp_path / "table2_mae.csv").read_bytes() == (full_run.out_dir / "table2_mae.csv").read_bytes()


def test_stand_in_metrics_fill_lpips_and_fid_and_are_marked(setup, full_run, tmp_path):
    shutil.copytree(full_run.out_dir / "cache", tmp_path / "cache")
    lp = LPIPSMetric(net=lambda x, y: (x - y).abs().flatten(1).mean(1))
    fid = FIDMetric(features=lambda x: x.mean(dim=(2, 3)), progress=False)
    res = evaluate(setup, tmp_path, attributes=ATTRS, batch=BATCH, lpips=lp, fid=fid, progress=False)
    assert res.batches_computed == 0
    mae_rows = {r["method"]: r for r in _csv(tmp_path / "table2_mae.csv")}
    for r in _csv(tmp_path / "table1_lpips.csv"):
        if r["status"] != "n/a":
            assert r["status"] == "stand-in" and "stand-in" in r["note"]
            # this stand-in is 2 x MAE (inputs mapped to [-1, 1])
            assert float(r["mean"]) == pytest.approx(2 * float(mae_rows[r["method"]]["mean"]), rel=1e-5)
    fids = [r for r in _csv(tmp_path / "table3_fid.csv") if r["status"] != "n/a"]
    assert fids and all(r["status"] == "stand-in" and float(r["mean"]) > -1e-6 and int(r["n"]) == N for r in fids)


def _method_md_tables(text):
    """METHOD.md's published tables: {metric: {attribute: {method: (mean, std)}}}."""
    names = {"Beard": "Beard", "Bushy eyebrows": "Bushy_Eyebrows", "Old": "Old", "Smiling": "Smiling"}
    out = {}
    for number, metric in ((1, "LPIPS"), (2, "MAE"), (3, "FID")):
        block = text.split(f"Table {number}, {metric}")[1].split("\n\n")[0]
        lines = [ln for ln in block.splitlines() if ln.startswith("| ") and not ln.startswith("| attribute")]
        head = ("pSp", "e4e", "ReStyle", "EOGI", "Diff-CAM++")
        out[metric] = {}
        for ln in lines:
            cells = [c.strip() for c in ln.strip("|").split("|")]
            row = {}
            for m, c in zip(head, cells[1:]):
                if c != "-":
                    mean, _, std = c.partition("+-")
                    row[m] = (float(mean), float(std) if std else None)
            out[metric][names[cells[0]]] = row
    return out


def test_published_numbers_in_the_renderer_equal_method_md(setup, shared, tmp_path):
    expected = _method_md_tables((shared / "paper" / "METHOD.md").read_text())
    res = evaluate(setup, tmp_path, attributes=TABLE_ATTRIBUTES, render_only=True, progress=False)
    assert res.batches_computed == 0
    md = (tmp_path / "tables.md").read_text()
    for metric, stem in (("LPIPS", "table1_lpips"), ("MAE", "table2_mae"), ("FID", "table3_fid")):
        rows = _csv(tmp_path / f"{stem}.csv")
        got = {}
        for r in rows:
            if r["published_mean"]:
                std = float(r["published_std"]) if r["published_std"] else None
                got.setdefault(r["attribute"], {})[r["method"]] = (float(r["published_mean"]), std)
        assert got == expected[metric], metric
        for attribute, cells in expected[metric].items():
            for method, (mean, std) in cells.items():
                digits = 2 if mean >= 10 else 4
                cell = f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")
                assert f"| {attribute} | {method} | {cell} |" in md


def test_cache_of_other_settings_is_refused(setup, full_run):
    other = dataclasses.replace(setup, params={**setup.params, "seed": 1})
    with pytest.raises(ValueError, match=r"out_dir: the cache .* was made with other settings \(seed 0 != 1\); "
                                         r"use another --out or --fresh"):
        evaluate(other, full_run.out_dir, attributes=ATTRS, batch=BATCH, progress=False)


def test_cli_errors(tmp_path, monkeypatch, capsys):
    from paperlib.__main__ import main

    assert main(["evaluate", "--profile", "synthetic", "--classifier", str(tmp_path / "none.pt"),
                 "--out", str(tmp_path / "o"), "--n-images", "2"]) == 2
    assert f"classifier: {tmp_path / 'none.pt'} does not exist" in capsys.readouterr().err
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PAPERLIB_CELEBA_HQ", raising=False)
    assert main(["evaluate", "--profile", "paper", "--device", "cpu", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"profile 'paper': missing assets psp-ffhq-encode, eogi-diffcam, face-parsing-bisenet, "
                     r"eogi-deghosting, eogi-direction-beard, .*: run `python -m paperlib download psp-ffhq-encode "
                     r"eogi-diffcam face-parsing-bisenet eogi-deghosting eogi-direction-beard .*interfacegan-smile`", err)
    assert "PAPERLIB_CELEBA_HQ" in err


def test_paper_components_wiring_with_small_random_stand_ins():
    """Only the plumbing: random-init small networks, no real numbers."""
    from helpers import small_paper_components
    from paperlib.profiles import Setup
    from paperlib.profiles.paper import baseline_editor

    c, psp, dirs = small_paper_components(TABLE_ATTRIBUTES)
    assert c.class_index("Smiling") == 15 and c.class_index("Beard") == 12  # EOGI's 17-class indices
    src = torch.rand(2, 3, 64, 64) * 2 - 1
    editor = baseline_editor(psp, {"Old": torch.randn(1, 512), "Smiling": torch.randn(1, 512)}, device="cpu",
                             generation="fixed")
    setup = Setup(profile="paper", components=c, n_images=2, load_sources=lambda idx: src[list(idx)],
                  baselines={"e4e": editor})
    outs, loc = compute_batch(setup, [0, 1], "Smiling", ["pSp", "e4e", "EOGI", "Diff-CAM++"])
    assert loc == {}
    for m, o in outs.items():
        assert o.shape == (2, 3, 64, 64) and torch.isfinite(o).all() and o.abs().max() <= 1, m
    w = psp.invert(src)
    assert torch.allclose(outs["pSp"], psp.decode(w + 20 * dirs["Smiling"]).clamp(-1, 1), atol=1e-5)
