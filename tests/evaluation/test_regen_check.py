"""``python -m paperlib check`` / ``reproduce --check``: regenerated numbers against SE-derived
tolerances, on small folders written by the real writers (no notebook runs)."""

import csv
import json
import math
import random
import shutil
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest

from paperlib.evaluation import regen_check as rc
from paperlib.__main__ import main
from paperlib.evaluation.metrics import summarize
from paperlib.teaching.notebook import FINAL_LOSS_WINDOW, finish, table_numbers, training_numbers
from paperlib.evaluation.tables import markdown_tables, write_csv

ROOT = Path(__file__).resolve().parents[2]
N = 40
#: per-image values of each (attribute, method) of the constructed MAE table
_RNG = random.Random(0)
VALUES = {(a, m): [_RNG.uniform(0.0, 0.1) for _ in range(N)] for a in ("Beard", "Old") for m in ("pSp", "Diff-CAM++")}


def _rows() -> dict[str, list[dict]]:
    rows = []
    for (attribute, method), values in VALUES.items():
        mean, std = summarize(values)
        rows.append({"table": 2, "metric": "MAE", "attribute": attribute, "method": method, "n": N, "mean": mean,
                     "std": std, "published_mean": 0.05, "published_std": 0.01, "delta": mean - 0.05,
                     "status": "ok", "note": ""})
    return {"LPIPS": [], "MAE": rows, "FID": []}


def _write_folder(folder: Path) -> Path:
    """A results folder as the notebooks write it: table CSV, tables.md, 05_tables and a figure sidecar."""
    folder.mkdir(parents=True)
    rows = _rows()
    write_csv(rows["MAE"], folder / "table2_mae.csv")
    setup = SimpleNamespace(profile="synthetic", n_images=N, note="", random_weights=False)
    (folder / "tables.md").write_text(markdown_tables(rows, setup))
    prov = {"git": {"sha": "abc", "dirty": False}, "created": "today", "parameters": {"n_images": N}}
    result = SimpleNamespace(rows=rows, ground_truth=None, timings={"total_s": 1.0})
    finish("05_tables", folder, table_numbers(result), prov)
    face = {"rows": [{"index": 0, "attribute": "Beard", "mae": {"Diff-CAM++": VALUES[("Beard", "Diff-CAM++")][0]}}]}
    finish("02_figure2", folder, face, prov)
    return folder


@pytest.fixture()
def folders(tmp_path):
    committed = _write_folder(tmp_path / "committed")
    regenerated = tmp_path / "regenerated"
    shutil.copytree(committed, regenerated)
    return committed, regenerated


def _edit_csv(path: Path, attribute: str, method: str, column: str, change) -> None:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if (r["attribute"], r["method"]) == (attribute, method):
            r[column] = change(r[column])
    rows = [r for r in rows if r[column] is not None]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _mean_item(report: rc.Report, file: str = "table2_mae.csv", key: str = "rows[Beard/pSp].mean") -> rc.Item:
    return next(i for i in report.items if i.file == file and i.key == key)


def _expected_tolerance(report: rc.Report, values) -> float:
    """k * sqrt(se^2 + se^2) with se = sd(ddof=1) / sqrt(N) of the per-image values."""
    se = statistics.stdev(values) / math.sqrt(len(values))
    return report.k * math.sqrt(2) * se


def test_identical_folders_pass(folders, capsys):
    assert rc.main_check(folders[1], folders[0]) == 0
    out = capsys.readouterr().out
    assert out.strip().endswith("-> OK") and "OUTSIDE" not in out and "MISSING" not in out
    assert "skipped 'git'" in out and "skipped 'timings'" in out


def test_tolerance_is_k_times_se_of_the_per_image_values(folders):
    report = rc.compare(folders[1], folders[0])
    expected = _expected_tolerance(report, VALUES[("Beard", "pSp")])
    assert _mean_item(report).tolerance(report.k) == pytest.approx(expected, rel=1e-9)
    # the sidecar's mean has its SE stored next to it: the same tolerance
    sidecar = _mean_item(report, "05_tables.json", "numbers.ours.MAE.Beard/pSp")
    assert sidecar.tolerance(report.k) == pytest.approx(expected, rel=1e-9)
    assert report.k == pytest.approx(statistics.NormalDist().inv_cdf(1 - rc.FAMILY_ALPHA / (2 * report.m)))


def test_one_face_gets_the_per_image_sd_of_its_table_row(folders):
    report = rc.compare(folders[1], folders[0])
    item = _mean_item(report, "02_figure2.json", "numbers.rows[Beard/0].mae.Diff-CAM++")
    sd = statistics.pstdev(VALUES[("Beard", "Diff-CAM++")])  # the table's std (ddof=0), N = 1
    assert item.tolerance(report.k) == pytest.approx(report.k * math.sqrt(2) * sd, rel=1e-9)


@pytest.mark.parametrize("fraction, status", [(0.5, 0), (2.0, 1)])
def test_a_moved_mean_passes_within_and_fails_outside(folders, capsys, fraction, status):
    tol = _expected_tolerance(rc.compare(*folders[::-1]), VALUES[("Beard", "pSp")])
    _edit_csv(folders[1] / "table2_mae.csv", "Beard", "pSp", "mean", lambda v: repr(float(v) + fraction * tol))
    assert rc.main_check(folders[1], folders[0]) == status
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "rows[Beard/pSp].mean" in ln]
    assert len(lines) == 1 and lines[0].startswith("table2_mae.csv  rows[Beard/pSp].mean")
    assert lines[0].endswith("OK" if status == 0 else "OUTSIDE")


def test_a_changed_count_is_outside(folders, capsys):
    _edit_csv(folders[1] / "table2_mae.csv", "Old", "pSp", "n", lambda v: str(int(v) - 1))
    assert rc.main_check(folders[1], folders[0]) == 1
    assert "table2_mae.csv  rows[Old/pSp].n  40  39  -1  exact  OUTSIDE" in capsys.readouterr().out


def test_a_missing_number_or_file_fails(folders, capsys):
    _edit_csv(folders[1] / "table2_mae.csv", "Old", "Diff-CAM++", "mean", lambda v: None)  # drops the row
    (folders[1] / "02_figure2.json").unlink()
    assert rc.main_check(folders[1], folders[0]) == 1
    out = capsys.readouterr().out
    assert "table2_mae.csv  rows[Old/Diff-CAM++].mean" in out and "MISSING\n" in out
    assert "02_figure2.json: MISSING from the regenerated folder" in out


def test_markdown_numbers_get_their_csv_tolerance_plus_one_display_unit(folders, capsys):
    md = folders[1] / "tables.md"
    row = next(ln for ln in md.read_text().splitlines() if ln.startswith("| Beard | pSp |"))
    report = rc.compare(folders[1], folders[0])
    item = _mean_item(report, "tables.md", "Table 2: MAE (lower is better) | Beard | pSp | mean")
    assert item.tolerance(report.k) == pytest.approx(_expected_tolerance(report, VALUES[("Beard", "pSp")]) + 1e-4)
    ours = row.split("|")[4].split("±")[0].strip()
    md.write_text(md.read_text().replace(row, row.replace(ours, f"{float(ours) + 1:.4f}")))
    assert rc.main_check(folders[1], folders[0]) == 1
    assert any(ln.startswith("tables.md  Table 2: MAE") and "| Beard | pSp | mean" in ln and ln.endswith("OUTSIDE")
               for ln in capsys.readouterr().out.splitlines())


def test_provenance_and_timings_are_not_compared(folders):
    path = folders[1] / "05_tables.json"
    data = json.loads(path.read_text())
    data["provenance"]["git"] = {"sha": "def", "dirty": True}
    data["numbers"]["timings"]["total_s"] = 99.0
    path.write_text(json.dumps(data))
    assert rc.compare(folders[1], folders[0]).ok
    data["provenance"]["parameters"]["n_images"] = N + 1  # a setting: compared exactly
    path.write_text(json.dumps(data))
    assert not rc.compare(folders[1], folders[0]).ok


def test_writers_store_the_standard_errors(tmp_path):
    rows = _rows()
    numbers = table_numbers(SimpleNamespace(rows=rows, ground_truth=None, timings={}))
    values = VALUES[("Old", "Diff-CAM++")]
    assert numbers["ours_se"]["MAE"]["Old/Diff-CAM++"] == pytest.approx(statistics.stdev(values) / math.sqrt(N))
    losses = [1 / (s + 1) for s in range(50)]
    (tmp_path / "train.json").write_text(json.dumps({"heldout_pairs": 200}))
    result = SimpleNamespace(heldout_accuracy=0.9, steps=50, wall_time_s=1.0, losses=losses, resumed_from=None,
                             sidecar_path=tmp_path / "train.json")
    numbers = training_numbers(result)
    assert numbers["final_loss_se"] == pytest.approx(statistics.stdev(losses[-FINAL_LOSS_WINDOW:]))
    q = (0.9 * 200 + 0.5) / 201
    assert numbers["heldout_pairs"] == 200 and numbers["heldout_accuracy_se"] == pytest.approx(math.sqrt(q * (1 - q) / 200))


def test_variant_names_match_the_methods():
    from paperlib.evaluation.methods import MASK_METHODS, VARIANT_METHODS

    assert rc.VARIANT_METHODS is VARIANT_METHODS and VARIANT_METHODS["Diff-CAM"] == "EOGI"
    assert all(MASK_METHODS[m] == v for v, m in VARIANT_METHODS.items())


def test_committed_figures_pass_against_themselves(capsys):
    folder = ROOT / "figures" / "synthetic"
    assert rc.main_check(folder, folder) == 0, capsys.readouterr().out[-2000:]


def test_cli_one_line_errors(tmp_path, tmp_project, capsys):
    assert main(["check", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: regenerated:") and "is not a folder" in err
    assert main(["check", str(tmp_path), "--against", str(tmp_path / "gone")]) == 2
    assert capsys.readouterr().err.startswith("error: against:")
    assert main(["check", str(tmp_path), "--against", str(tmp_path)]) == 2  # nothing to compare
    assert "holds no .json, .csv or .md" in capsys.readouterr().err
    assert main(["reproduce", "--check"]) == 1  # no committed figures here: stops before any notebook
    err = capsys.readouterr().err.strip()
    assert err == (f"error: check: {tmp_path / 'figures' / 'synthetic'} is not a folder; the check compares with "
                   "the committed figures of the profile")
    assert main(["reproduce", "--check", "--smoke"]) == 1
    assert "drop --smoke" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("moved", [False, True])
def test_reproduce_check_regenerates_into_runs_and_compares(tmp_path, tmp_project, monkeypatch, capsys, moved):
    """The hook with the notebooks replaced by a copy of the committed folder (one mean moved far)."""
    from paperlib.teaching import reproduce as rp

    committed = _write_folder(tmp_path / "figures" / "synthetic")
    stale = tmp_path / "runs" / "check" / "figures" / "synthetic" / "old.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    made = []

    def fake_reproduce(profile, *, device, out_dir, notebooks):
        assert not stale.exists()  # an earlier check's files are gone before the run
        made.append(out_dir)
        shutil.copytree(committed, out_dir, dirs_exist_ok=True)
        if moved:
            _edit_csv(Path(out_dir) / "table2_mae.csv", "Old", "pSp", "mean", lambda v: repr(float(v) + 1))

    monkeypatch.setattr(rp, "reproduce", fake_reproduce)
    assert main(["reproduce", "--check", "--outside-only"]) == (1 if moved else 0)
    assert made == [str(tmp_path / "runs" / "check" / "figures" / "synthetic")]
    out = capsys.readouterr().out
    assert ("table2_mae.csv  rows[Old/pSp].mean" in out) == moved  # --outside-only: only what is outside
    assert out.strip().endswith("-> FAILED" if moved else "-> OK")
    assert sorted(p.name for p in committed.iterdir()) == sorted(p.name for p in Path(made[0]).iterdir())


def test_markdown_rows_are_keyed_by_their_labels_and_new_columns_map_to_csv_names():
    text = ("## all attributes\n\n| variant | n | IoU ↑ | mass inside ↑ |\n|---|---|---|---|\n"
            "| e4e | 800 | 0.226 ± 0.145 | 0.51 ± 0.10 |\n")
    rows = rc.md_rows(text)
    assert rows[("all attributes", "e4e")] == ["n\t800", "IoU ↑\t0.226 ± 0.145", "mass inside ↑\t0.51 ± 0.10"]
    assert rc.md_columns("mass inside ↑") == ("mass_inside", "mass_inside_std")
    assert rc.md_columns("IoU ↑") == ("iou", "iou_std")


def _csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return [{k: rc._cell(v) for k, v in r.items()} for r in csv.DictReader(f)]


def test_writers_reproduce_the_committed_markdown_from_the_committed_numbers():
    """tables.md, localization.md and leaderboard.md are what the writers (one Markdown table writer,
    headers defined once) make of the committed CSV/JSON rows, byte for byte."""
    from paperlib.evaluation import leaderboard as lb
    from paperlib.evaluation.tables import METRICS, TABLE_FILES
    from paperlib.profiles.synthetic import Localization

    folder = ROOT / "figures" / "synthetic"
    committed = (folder / "tables.md").read_text()
    rows = {m: _csv_rows(folder / f"{TABLE_FILES[m]}.csv") for m in METRICS}
    for r in (r for rs in rows.values() for r in rs):
        r["note"] = r["note"] or ""
        r.update({k: float(r[k]) for k in ("mean", "std", "published_mean", "published_std", "delta", "edit_kept", "edit_kept_std")
                  if isinstance(r.get(k), int)})
    setup = SimpleNamespace(random_weights=False, profile="synthetic", n_images=100, note=committed.split("\n")[2])
    assert markdown_tables(rows, setup) == committed
    localization = _csv_rows(folder / "localization.csv")
    assert Localization.markdown(None, localization, 100, 4) == (folder / "localization.md").read_text()
    board = json.loads((ROOT / "figures" / "leaderboard" / "leaderboard.json").read_text())
    prov = board["provenance"]
    text = lb.markdown(board["rows"], board["per_attribute"], prov["n_images"], prov["rank_by"], prov["library_check"])
    assert text == (ROOT / "figures" / "leaderboard" / "leaderboard.md").read_text()
    # the reader takes every displayed column to the CSV columns the writer declared
    key = ("all attributes", "Diff-CAM")
    assert rc.md_rows(Localization.markdown(None, localization, 100, 4))[key][0] == "n\t400"
    assert rc.md_columns("CAM mass inside ↑") == ("mass_inside", "mass_inside_std")


@pytest.mark.parametrize("regenerated, status", [("0.340 ± 0.015", "OK"), ("0.380 ± 0.015", "OUTSIDE"),
                                                  ("0.340 ± 0.030", "OUTSIDE")])
def test_a_markdown_mean_and_sd_without_csv_get_the_se_of_the_row_n(tmp_path, regenerated, status):
    """A Markdown ``mean ± sd`` cell that no CSV holds (localization.md's "where the classifier looks"):
    its mean gets sd/√(n−1), its sd the SE of an sd, from the row's n; not exact equality."""
    from paperlib.evaluation.regen_check import compare

    def folder(name, cell):
        d = tmp_path / name
        d.mkdir()
        (d / "looks.md").write_text("## Where it looks\n\n| attribute | n | CAM mass inside |\n|---|---|---|\n"
                                    f"| Beard | 100 | {cell} |\n")
        return d

    report = compare(folder("regenerated", regenerated), folder("committed", "0.340 ± 0.016"))
    items = {i.key.rsplit("| ", 1)[-1]: i for i in report.items}
    assert items["cam_mass_inside"].se_committed == pytest.approx(0.016 / 99 ** 0.5)
    assert items["cam_mass_inside_std"].se_committed == pytest.approx(0.016 / (2 * 99) ** 0.5)
    assert ("OUTSIDE" if report.outside else "OK") == status
