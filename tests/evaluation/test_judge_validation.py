"""The judges' validation against the exact value: correlations over methods and over images."""

import math

import pytest

from paperlib.evaluation import judge_validation as jv


def _values(judge_of):
    """Two methods x one attribute x 5 images; the judge is ``judge_of(exact)``."""
    values = {}
    for m, scale in (("pSp", 1.0), ("EOGI", 0.5), ("Diff-CAM++", 0.1)):
        exact = {str(i): scale * (0.8 + 0.05 * i) for i in range(5)}
        values[(m, "Old")] = {"kept:exact": exact,
                              "kept:projection": {i: judge_of(v) for i, v in exact.items()},
                              "kept:classifier": {i: None for i in exact}}
    return values


def test_a_judge_that_is_a_monotone_function_of_the_truth_correlates_perfectly():
    rows = jv.validation_rows(_values(lambda v: 2 * v + 0.1), ["pSp", "EOGI", "Diff-CAM++"], ["Old"], 5)
    row = next(r for r in rows if r["judge"] == "projection" and r["attribute"] == "Old")
    assert row["n_methods"] == 3 and row["n_outputs"] == 15
    assert row["method_rho"] == pytest.approx(1) and row["image_r"] == pytest.approx(1)
    assert row["image_rho"] == pytest.approx(1) and row["image_r_se"] == pytest.approx(0, abs=1e-9)


def test_a_judge_that_reverses_the_truth_is_found_out_and_a_judge_without_values_is_empty():
    rows = jv.validation_rows(_values(lambda v: -v), ["pSp", "EOGI", "Diff-CAM++"], ["Old"], 5)
    row = next(r for r in rows if r["judge"] == "projection" and r["attribute"] == "all")
    assert row["method_rho"] == pytest.approx(-1) and row["image_rho"] == pytest.approx(-1)
    empty = next(r for r in rows if r["judge"] == "classifier" and r["attribute"] == "Old")
    assert empty["n_outputs"] == 0 and empty["image_r"] is None
    assert "| Old | projection | 3 | -1.00 |" in jv.markdown(rows, 5)


def test_correlation_needs_three_varying_pairs_and_its_se_four():
    assert jv.correlation([1, 2], [1, 2]) is None and jv.correlation([1, 1, 1], [1, 2, 3]) is None
    assert jv.correlation([1, 2, 3], [3, 1, 2], ranks=True) == pytest.approx(-0.5)
    assert jv.correlation_se(0.5, 3) is None and jv.correlation_se(0.5, 12) == pytest.approx(0.75 / 3)
    assert not math.isnan(jv.correlation([0, 1, 2, 3], [0, 1, 3, 2]))
