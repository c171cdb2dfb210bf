"""The strength sweep (paperlib.evaluation.sweep): argument checks, the matched-edit interpolation and
its bootstrap on constructed per-image data, and a tiny end-to-end sweep on SynthFace."""

import json
import math

import numpy as np
import pytest
from helpers import small_synthetic_setup

from paperlib.evaluation import sweep
from paperlib.evaluation.sweep import (
    NOT_REACHED,
    SweepResult,
    check_alphas,
    crossing,
    matched_edit,
)


@pytest.mark.parametrize("alphas, words", [
    ([5, float("nan"), 20], "finite"), ([5, float("inf")], "finite"), ([-5, 20], "non-negative"),
    ([10, 20, 10], "repeated"), ([], "empty"), ("5,10", "list"), ([5, "x"], "finite"), ([True, 20], "finite"),
])
def test_check_alphas_one_line_naming_alphas(alphas, words):
    with pytest.raises(ValueError) as err:
        check_alphas(alphas)
    message = str(err.value)
    assert message.startswith("alphas:") and words in message and "\n" not in message


def test_check_alphas_sorts_and_needs_the_target():
    assert check_alphas([40, 5, 20.0, 0]) == (0.0, 5.0, 20.0, 40.0)
    with pytest.raises(ValueError, match="^alphas: must hold 20"):
        check_alphas([5, 10], target=20)


def test_unknown_judge_is_one_line_before_any_work(tmp_path):
    class NoSetup:  # never touched: the check comes first
        ideal_edit = None

    with pytest.raises(ValueError, match="^judge: unknown judge 'oracle'"):
        sweep.strength_sweep(NoSetup(), tmp_path, judge="oracle")
    with pytest.raises(ValueError, match="^alphas: repeated"):
        sweep.strength_sweep(NoSetup(), tmp_path, alphas=(20, 20))
    assert not any(tmp_path.iterdir())


def test_crossing_interpolates_and_never_extrapolates():
    assert crossing([10, 20, 30], [0.2, 0.6, 1.0], 0.5) == pytest.approx(17.5)
    assert crossing([10, 20, 30], [0.2, 0.6, 1.0], 0.6) == 20.0  # a grid point itself
    assert crossing([10, 20], [0.2, 0.6], 0.8) is None and crossing([10, 20], [0.2, 0.6], 0.1) is None
    assert crossing([10, 20, 30], [0.9, 0.4, 0.2], 0.5) == pytest.approx(18.0)  # a falling curve
    assert crossing([10, 20, 30], [math.nan, 0.4, 0.8], 0.6) == pytest.approx(25.0)


def _result(n=40, noise=0.05, seed=1) -> SweepResult:
    """Per-image data with a known answer: EOGI keeps 0.5 at alpha 20; pSp keeps alpha/20 (crosses at
    alpha 10) with MAE 0.01 alpha (0.1 there); Diff-CAM++ keeps at most 0.2 (never reaches it)."""
    rng = np.random.default_rng(seed)
    alphas = (5.0, 10.0, 20.0, 40.0)
    a = np.array(alphas)[:, None]
    e = rng.normal(0, noise, (len(alphas), n))
    r = SweepResult("synthetic", n, alphas, ["Old"], ["pSp", "EOGI", "Diff-CAM++"], "exact", 20.0, False)
    r.kept = {("Old", "EOGI"): a / 40 + e, ("Old", "pSp"): a / 20 + e, ("Old", "Diff-CAM++"): a / 200 + e}
    r.damage = {key: {"MAE": 0.01 * a + 0 * e + rng.normal(0, 0.01, e.shape)} for key in r.kept}
    r.metrics = ["MAE"]
    return r


def test_matched_edit_known_crossing_not_reached_and_reproducible_bootstrap():
    result = _result()
    rows = {r["method"]: r for r in matched_edit(result, resamples=100, seed=3)}
    target = rows["EOGI"]["target_kept"]
    assert target == pytest.approx(float(np.mean(result.kept[("Old", "EOGI")][2])))
    assert rows["EOGI"]["matched_alpha"] == 20.0 and rows["EOGI"]["matched_alpha_se"] == 0.0
    psp = rows["pSp"]
    assert psp["status"] == "ok" and psp["matched_alpha"] == pytest.approx(20 * target, abs=0.5)
    assert psp["mae"] == pytest.approx(0.01 * psp["matched_alpha"], abs=0.005)
    assert 0 < psp["matched_alpha_se"] < 2 and 0 < psp["mae_se"] < 0.02 and psp["reached_share"] == 1.0
    assert rows["Diff-CAM++"]["status"] == NOT_REACHED and rows["Diff-CAM++"]["matched_alpha"] is None
    assert rows["Diff-CAM++"]["mae"] is None and rows["Diff-CAM++"]["reached_share"] == 0.0
    again = {r["method"]: r for r in matched_edit(result, resamples=100, seed=3)}
    assert again == rows
    other = {r["method"]: r for r in matched_edit(result, resamples=100, seed=4)}
    assert other["pSp"]["matched_alpha_se"] != psp["matched_alpha_se"] and other["pSp"]["matched_alpha"] == psp["matched_alpha"]


def test_bootstrap_share_counts_resamples_that_reach_the_target():
    """A method whose mean kept at the top of the grid sits at the target: about half the resamples reach it."""
    result = _result(n=60, noise=0.3)
    top = result.kept[("Old", "EOGI")][2].mean()
    kept = result.kept[("Old", "pSp")]
    kept[:] = kept * 0 + np.linspace(0, 1, 4)[:, None] * top + (kept - kept.mean(axis=1, keepdims=True))
    row = next(r for r in matched_edit(result, resamples=200, seed=0) if r["method"] == "pSp")
    assert 0.2 < row["reached_share"] < 0.8 and row["reached_share_se"] > 0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two alphas, two attributes, 3 images of the small SynthFace setup."""
    folder = tmp_path_factory.mktemp("sweep")
    setup = small_synthetic_setup(3)
    result = sweep.strength_sweep(setup, folder / "runs", alphas=(10, 20), attributes=("Old", "Beard"), progress=False)
    points, matched = sweep.curve_rows(result), matched_edit(result, resamples=20)
    files = sweep.write_sweep(result, points, matched, folder / "out", {"test": True})
    return folder, result, points, matched, files


def test_tiny_sweep_writes_its_files(tiny):
    folder, result, points, _, files = tiny
    assert {p.name for p in files} == {"sweep.csv", "sweep.json", "matched.csv", "matched.json", "sweep.md"}
    assert sorted(p.name for p in (folder / "runs").iterdir()) == ["alpha-10", "alpha-20"]
    assert result.judge == "exact" and result.methods[:4] == ["pSp", "e4e", "ReStyle", "EOGI"]
    data = json.loads((folder / "out" / "sweep.json").read_text())
    assert data["alphas"] == [10.0, 20.0] and len(data["rows"]) == len(points)
    assert "Matched edit" in (folder / "out" / "sweep.md").read_text()
    assert not any(k[1] in ("e4e", "ReStyle") for k in result.kept if k[0] == "Beard")  # SynthFace: Old, Smiling only
    records = [json.loads(p.read_text()) for p in (folder / "runs" / "alpha-10").rglob("*.json")]
    names = {k for r in records if "values" in r for vs in r["values"].values() for k in vs}
    assert names - {"LPIPS"} == {"MAE", "kept:exact"}  # only the sweep's judge (LPIPS where its weights are)


def test_tiny_sweep_kept_rises_with_alpha_for_psp(tiny):
    _, _, points, matched, _ = tiny
    psp = {p["alpha"]: p for p in points if p["attribute"] == "Old" and p["method"] == "pSp"}
    assert psp[20.0]["kept"] > psp[10.0]["kept"] and psp[20.0]["n"] == 3
    eogi = next(r for r in matched if r["attribute"] == "Old" and r["method"] == "EOGI")
    assert eogi["matched_alpha"] == 20.0 and eogi["target_kept"] == pytest.approx(
        next(p["kept"] for p in points if p["attribute"] == "Old" and p["method"] == "EOGI" and p["alpha"] == 20.0))


def test_tiny_sweep_resumes_from_the_cache(tiny):
    folder, result, *_ = tiny
    again = sweep.strength_sweep(small_synthetic_setup(3), folder / "runs", alphas=(10, 20), attributes=("Old", "Beard"),
                                 progress=False)
    for key, kept in result.kept.items():
        np.testing.assert_array_equal(again.kept[key], kept)


def test_figure_and_sidecar_numbers(tiny):
    _, result, points, matched, _ = tiny
    fig = sweep.sweep_figure(result, points, matched)
    assert len(fig.axes) == 2
    numbers = sweep.sweep_numbers(result, matched)
    assert numbers["matched_alpha"]["Old/EOGI"] == 20.0 and "Old" in numbers["target_kept_se"]
    assert set(numbers["matched_mae_se"]) <= set(numbers["matched_mae"])


def test_random_weights_outputs_are_stamped():
    result = _result()
    result.random_weights = True
    rows = matched_edit(result, resamples=10)
    assert sweep.sweep_markdown(result, rows).startswith("# RANDOM WEIGHTS")
    assert all(r["random_weights"] for r in rows + sweep.curve_rows(result))
    assert "RANDOM WEIGHTS" in sweep.sweep_figure(result, sweep.curve_rows(result), rows)._suptitle.get_text()


def test_reproduce_check_reads_the_sweep_files(tiny):
    """``reproduce --check`` matches the curve points by (attribute, method, alpha), and the matched-edit
    table's Markdown numbers against their CSV value's stored bootstrap SE."""
    from paperlib.evaluation.regen_check import compare

    folder = tiny[0] / "out"
    report = compare(folder, folder)
    assert report.ok and not report.missing_files
    keys = {i.key for i in report.items if i.file == "sweep.csv"}
    assert "rows[Old/pSp/exact/10.0].kept" in keys and "rows[Old/pSp/exact/20.0].kept" in keys
    md = [i for i in report.items if i.file == "sweep.md" and i.key.endswith("| mae")]
    assert md and all(i.se_committed and "matched.csv" in i.basis for i in md if i.committed is not None)
