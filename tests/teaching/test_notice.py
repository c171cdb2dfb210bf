"""The notebooks' closing "what to notice" paragraphs follow their numbers: change the numbers and the
named attribute, method or step changes; missing values are said to be missing."""

import csv
import json

import pytest
from helpers import ROOT

from paperlib.teaching import notice

FIGURES = ROOT / "figures" / "synthetic"


def _sidecar(name):
    path = FIGURES / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"{path} not committed")
    return json.loads(path.read_text())["numbers"]


def _bold(text):
    """The bold phrases of a paragraph (what it names)."""
    return text.split("**")[3::2]  # [0:2] is the heading


# --------------------------------------------------------------------------- every notebook, committed sidecars
@pytest.mark.parametrize("name, function", [("00_walkthrough", notice.walkthrough), ("01_train_diffcam", notice.training),
                                            ("02_figure2", notice.figure2), ("03_figure3", notice.figure3),
                                            ("04_figure4", notice.figure4), ("06_sweep", notice.sweep)])
def test_committed_sidecars_give_a_paragraph(name, function):
    text = function(_sidecar(name))
    assert text.startswith(notice.HEADING) and "\n- " in text and "n/a" not in text


def test_committed_tables_name_the_lowest_lift_attribute():
    path = FIGURES / "localization.csv"
    if not path.is_file():
        pytest.skip("no localization.csv")
    rows = list(csv.DictReader(path.open()))
    lift = notice.lifts(rows)
    text = notice.tables(_sidecar("05_tables"), rows)
    assert _bold(text)[0] == min(lift, key=lift.get)


@pytest.mark.parametrize("function", [notice.walkthrough, notice.training, notice.figure2, notice.figure3,
                                      notice.figure4, notice.tables, notice.sweep])
def test_empty_numbers_do_not_raise(function):
    assert function({}).startswith(notice.HEADING)


# --------------------------------------------------------------------------- 05_tables
def _loc(beard, smiling):
    return [{"attribute": "all", "variant": "Diff-CAM", "mass_inside": 0.01, "region_share": 0.5},
            {"attribute": "Beard", "variant": "Diff-CAM", "mass_inside": beard, "region_share": 0.1},
            {"attribute": "Smiling", "variant": "Diff-CAM", "mass_inside": smiling, "region_share": 0.1},
            {"attribute": "Smiling", "variant": "Diff-CAM++", "mass_inside": 0.0, "region_share": 0.1}]


TABLES = {"ours": {"MAE": {"Beard/pSp": 0.08, "Beard/EOGI": 0.03, "Beard/Diff-CAM++": 0.01}},
          "edit_kept": {"Beard/pSp": 0.9, "Beard/EOGI": 0.8, "Beard/Diff-CAM++": 0.7}}


def test_tables_name_follows_the_lift():
    assert _bold(notice.tables(TABLES, _loc(0.3, 0.2)))[0] == "Smiling"
    assert _bold(notice.tables(TABLES, _loc(0.2, 0.3)))[0] == "Beard"


def test_tables_lift_accepts_csv_strings_and_skips_missing():
    rows = [{"attribute": "Old", "variant": "Diff-CAM", "mass_inside": "0.2", "region_share": "0.1"},
            {"attribute": "Beard", "variant": "Diff-CAM", "mass_inside": None, "region_share": "0.1"}]
    assert notice.lifts(rows) == {"Old": pytest.approx(2.0)}


def test_tables_name_lowest_mae_and_least_kept():
    text = notice.tables(TABLES)
    assert "lowest MAE **Diff-CAM++**" in text and "least of the edit kept: **Diff-CAM++**" in text
    swapped = {"ours": {"MAE": {**TABLES["ours"]["MAE"], "Beard/EOGI": 0.001}},
               "edit_kept": {**TABLES["edit_kept"], "Beard/pSp": 0.1, "Beard/Diff-CAM++": None}}
    text = notice.tables(swapped)
    assert "lowest MAE **EOGI**" in text and "least of the edit kept: **pSp**" in text


# --------------------------------------------------------------------------- 03_figure3
def _fig3(areas, kept=None):
    variants = ["Diff-CAM", "Grad-CAM++", "+Eigen", "Diff-CAM++"]
    return {"rows": [{"attribute": "Beard", "mask_area": dict(zip(variants, areas)),
                      "kept": dict(zip(variants, kept or [0.8, 0.8, 0.7, 0.6]))}]}


def test_figure3_names_the_step_that_changes_the_mask_most():
    assert _bold(notice.figure3(_fig3([0.5, 0.5, 0.2, 0.15])))[0] == "Grad-CAM++ → +Eigen"
    assert _bold(notice.figure3(_fig3([0.5, 0.5, 0.45, 0.1])))[0] == "+Eigen → Diff-CAM++"
    text = notice.figure3(_fig3([0.5, 0.5, 0.45, 0.1], [0.8, 0.8, 0.7, None]))
    assert "Diff-CAM++ n/a" in text


# --------------------------------------------------------------------------- 04_figure4
def test_figure4_names_least_mae_per_row():
    row = {"index": 0, "attribute": "Old", "mae": {"pSp": 0.1, "EOGI": 0.03, "Diff-CAM++": 0.004},
           "kept": {"pSp": 0.97, "EOGI": 0.57, "Diff-CAM++": 0.07}}
    assert _bold(notice.figure4({"rows": [row]})) == ["Diff-CAM++"]
    assert "edit kept 0.07" in notice.figure4({"rows": [row]})
    row["mae"]["EOGI"] = 0.001
    assert _bold(notice.figure4({"rows": [row]})) == ["EOGI"]


# --------------------------------------------------------------------------- 02_figure2
def test_figure2_names_the_attribute_that_loses_most_edit():
    rows = [{"index": 0, "attribute": "Beard", "mae_diffcam": 0.02, "mae_diffcampp": 0.01, "mask_area_diffcam": 0.3,
             "mask_area_diffcampp": 0.1, "kept_diffcam": 0.75, "kept_diffcampp": 0.7},
            {"index": 1, "attribute": "Old", "mae_diffcam": 0.02, "mae_diffcampp": 0.01, "mask_area_diffcam": 0.3,
             "mask_area_diffcampp": 0.4, "kept_diffcam": 0.6, "kept_diffcampp": 0.1}]
    text = notice.figure2({"rows": rows})
    assert _bold(text) == ["Old"] and "mask is smaller" in text and "mask is not smaller" in text
    rows[0]["kept_diffcampp"], rows[1]["kept_diffcampp"] = 0.1, 0.6
    assert _bold(notice.figure2({"rows": rows})) == ["Beard"]


# --------------------------------------------------------------------------- 01_train_diffcam
def test_training_verdict_follows_accuracy():
    assert "tells the attributes apart" in notice.training({"heldout_accuracy": 0.98, "final_loss": 0.5})
    low = notice.training({"heldout_accuracy": 0.4, "final_loss": 2.5})
    assert "not worth reading" in low and "no better than guessing" in low
    assert "missing" in notice.training({"heldout_accuracy": None, "final_loss": None})
    assert "released" in notice.training({"trained": False, "classifier": "EOGI's released weights"})


# --------------------------------------------------------------------------- 06_sweep
def test_sweep_names_who_reaches_eogi_and_the_least_damage():
    numbers = {"target_kept": {"Beard": 0.77},
               "matched_alpha": {"Beard/pSp": 17.9, "Beard/EOGI": 20.0, "Beard/Diff-CAM++": 27.1},
               "matched_mae": {"Beard/pSp": 0.08, "Beard/EOGI": 0.028, "Beard/Diff-CAM++": 0.016},
               "not_reached": ["Beard/e4e"]}
    text = notice.sweep(numbers)
    assert _bold(text) == ["Diff-CAM++"] and "pSp at alpha 17.9" in text and "not reached: e4e" in text
    numbers["matched_mae"]["Beard/Diff-CAM++"] = 0.05
    assert _bold(notice.sweep(numbers)) == ["EOGI"]
    del numbers["matched_alpha"]["Beard/pSp"], numbers["matched_alpha"]["Beard/Diff-CAM++"]
    assert "no other method reaches it" in notice.sweep(numbers)


# --------------------------------------------------------------------------- 00_walkthrough
def test_walkthrough_names_the_biggest_mask_step_and_layer():
    numbers = {"attribute": "Beard", "mask_area": {"Diff-CAM": 0.3, "+Eigen": 0.15, "Diff-CAM++": 0.1},
               "mae_vs_source": {"Diff-CAM": 0.02, "Diff-CAM++": 0.01},
               "gradcam_vs_plusplus": [{"layer": "layer4", "mean abs(map++ - map)": 0.01},
                                       {"layer": "layer3, last block", "mean abs(map++ - map)": 0.02}]}
    assert _bold(notice.walkthrough(numbers)) == ["Diff-CAM → +Eigen", "layer3, last block"]
    numbers["mask_area"]["+Eigen"] = 0.28
    numbers["gradcam_vs_plusplus"][0]["mean abs(map++ - map)"] = 0.03
    assert _bold(notice.walkthrough(numbers)) == ["+Eigen → Diff-CAM++", "layer4"]
