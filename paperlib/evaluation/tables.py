"""Tables 1-3 as files: one row per (attribute, method) beside the published value, as CSV,
JSON and Markdown (published | ours | delta), from the values in an evaluation cache."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..infra.files import atomic_bytes
from ..infra.markdown import table
from .methods import ABLATION, BASELINES, EXTRA
from ..profiles import Setup
from .published import TABLE_NUMBER, TABLES

#: metric -> output file stem.
TABLE_FILES: dict[str, str] = {"LPIPS": "table1_lpips", "MAE": "table2_mae", "FID": "table3_fid"}
METRICS: tuple[str, ...] = ("LPIPS", "MAE", "FID")
#: The Markdown columns of Tables 1-3 that show numbers -> the CSV columns each cell displays
#: (read back by :mod:`paperlib.evaluation.regen_check`).
MD_COLUMNS: dict[str, tuple[str, ...]] = {"published": ("published_mean", "published_std"), "ours": ("mean", "std"),
                                          "Δ (ours − published)": ("delta",), "edit kept ↑": ("edit_kept", "edit_kept_std"),
                                          "identity ↓": ("identity", "identity_std")}
#: The Markdown header of Tables 1-3 (the identity column only where the profile scores it).
MD_HEADER: tuple[str, ...] = ("attribute", "method", *MD_COLUMNS)
#: Beside every method's number: the value name in the cache -> the rows' column (mean; ``_std`` and ``_n`` beside it).
BESIDE: dict[str, str] = {"ID": "identity"}


def applicable(method: str, attribute: str, setup: Setup) -> bool:
    """Whether ``method`` produces images for ``attribute`` in this setup."""
    if method in setup.unavailable:
        return False
    if method in BASELINES:
        return method in setup.baselines and attribute in setup.baseline_attributes
    return True


def _fmt(v: float | None, std: float | None = None) -> str:
    if v is None:
        return "—"
    digits = 2 if abs(v) >= 10 else 4
    return f"{v:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def beside(record: dict, name: str, column: str, n: int) -> dict:
    """``{column: mean, column_std: sd (ddof 0), column_n: count}`` of the per-image values ``name`` of one
    (method, attribute) over images ``0..n-1`` (None values, where a judge or dlib gave none, left
    out); all None without values."""
    from .metrics import summarize

    vals = [record.get(name, {}).get(str(i)) for i in range(n)]
    vals = [v for v in vals if v is not None]
    mean, std = summarize(vals) if vals else (None, None)
    return {column: mean, f"{column}_std": std, f"{column}_n": len(vals)}


def table_rows(setup: Setup, values: dict, metric: str, attributes, methods, reasons: dict[str, str],
               stand_in: dict[str, bool]) -> list[dict]:
    """One row per (attribute, method) with a published value or one of ours. ``values[(method,
    attribute)]`` holds the cached values: ``{metric: {index: value}}`` and ``"FID": {"n", "value"}``;
    beside the metric, every row has the edit kept of the profile's shown judge
    (:func:`paperlib.evaluation.judges.shown_judge`) and, where the profile scores it, the identity
    distance."""
    from .judges import shown_judge
    from .metrics import summarize

    judge = shown_judge(setup)
    extra = {f"kept:{judge}": "edit_kept", **(BESIDE if getattr(setup, "identity", False) else {})}
    rows = []
    n = setup.n_images
    for attribute in attributes:
        for method in methods:
            pub = TABLES[metric].get(attribute, {}).get(method)
            row = {"table": TABLE_NUMBER[metric], "metric": metric, "attribute": attribute, "method": method,
                   "n": 0, "mean": None, "std": None, "published_mean": pub[0] if pub else None,
                   "published_std": pub[1] if pub else None, "delta": None, "status": "ok", "note": "",
                   **{k: v for column in extra.values() for k, v in beside({}, "", column, 0).items()},
                   "edit_kept_judge": judge}
            if method in setup.unavailable:
                if pub is None and method in BASELINES and attribute not in setup.baseline_attributes:
                    continue
                row.update(status="n/a", note=setup.unavailable[method])
            elif method in BASELINES and not applicable(method, attribute, setup):
                if pub is None:
                    continue
                row.update(status="n/a", note=f"{method} was not run")
            elif metric in reasons:
                row.update(status="unavailable", note=reasons[metric])
            else:
                record = values.get((method, attribute), {})
                if metric == "FID":
                    fid = record.get("FID", {})
                    if fid.get("n") == n:
                        row.update(n=n, mean=fid["value"])
                else:
                    vals = [record.get(metric, {}).get(str(i)) for i in range(n)]
                    vals = [v for v in vals if v is not None]
                    if vals:
                        row["n"] = len(vals)
                        row["mean"], row["std"] = summarize(vals)
                if row["mean"] is None:
                    row.update(status="not computed", note="no cached values; run without --render-only")
                elif row["n"] < n:
                    row.update(status="partial", note=f"{row['n']} of {n} images cached")
                elif stand_in.get(metric):
                    row.update(status="stand-in", note=f"{metric} computed with a stand-in network, not the paper's")
                if row["mean"] is not None and pub is not None:
                    row["delta"] = row["mean"] - pub[0]
                if row["mean"] is not None and setup.random_weights:
                    row.update(status="random weights", delta=None,
                               note="RANDOM WEIGHTS: a dry run with random-init networks, not a result")
            if row["status"] != "n/a":
                for name, column in extra.items():
                    row.update(beside(values.get((method, attribute), {}), name, column, n))
            if method in ABLATION and not row["note"]:
                row["note"] = "Figure-3 ablation variant; no published number"
            if method in EXTRA and not row["note"]:
                row["note"] = "the authors' released scripts (paperlib.method.authors); no published number"
            rows.append(row)
    return rows


#: The identity model, as the tables' note names it.
IDENTITY = "dlib's face-recognition ResNet (dlib_face_recognition_resnet_model_v1), landmarks of the source"


def markdown_tables(rows: dict[str, list[dict]], setup: Setup, reasons: dict[str, str] | None = None) -> str:
    """Tables 1-3 as Markdown: published | ours | delta per (attribute, method), notes under each table."""
    from .judges import JUDGES, shown_judge

    judge = next((r["edit_kept_judge"] for rs in rows.values() for r in rs if r.get("edit_kept_judge")),
                 shown_judge(setup))
    identity = getattr(setup, "identity", False)
    id_reason = reasons.get("ID") if reasons else None
    stamp = "RANDOM WEIGHTS (dry run, not results): " if setup.random_weights else ""
    lines = [f"# {stamp}Tables 1-3 regenerated: profile `{setup.profile}`, {setup.n_images} image{'s' if setup.n_images != 1 else ''}", ""]
    if setup.note:
        lines += [setup.note, ""]
    for metric in METRICS:
        lines += [f"## Table {TABLE_NUMBER[metric]}: {metric} (lower is better)", ""]
        notes: list[str] = []
        body: list[list[str]] = []

        def mark(note: str) -> str:
            if note not in notes:
                notes.append(note)
            return f"[{notes.index(note) + 1}]"

        for r in rows[metric]:
            pub = _fmt(r["published_mean"], r["published_std"])
            if r["status"] in ("n/a", "unavailable", "not computed"):
                ours = f"{r['status']} {mark(r['note'])}"
            else:
                ours = _fmt(r["mean"], r["std"])
                if r["status"] in ("partial", "stand-in", "random weights"):
                    ours += f" {mark(r['note'])}"
            delta = "—" if r["delta"] is None else f"{r['delta']:+.{2 if abs(r['mean']) >= 10 else 4}f}"
            cells = [_fmt(r.get("edit_kept"), r.get("edit_kept_std"))]
            if identity:
                cells.append(_fmt(r["identity"], r["identity_std"]) if r["identity"] is not None or not id_reason
                             else f"unavailable {mark(id_reason)}")
            body.append([r["attribute"], r["method"], pub, ours, delta, *cells])
        lines += table(MD_HEADER if identity else MD_HEADER[:-1], body)
        lines.append("")
        paragraphs = [f"[{i + 1}] {note}" for i, note in enumerate(notes)]
        paragraphs.append(f"Edit kept ({judge}): {JUDGES[judge]}; 0: the source itself, 1: the whole edit "
                          "(README, \"Does the edit survive?\"). It is measured without the mask being judged.")
        if identity:
            paragraphs.append(f"Identity: the distance between the source face and the output under {IDENTITY} "
                              "(< 0.6: usually the same person).")
        ablation = [m for m in ABLATION if any(r["method"] == m for r in rows[metric])]
        if ablation:
            paragraphs.append(f"Rows {', '.join(ablation)}: Figure-3 ablation variants (no published numbers).")
        extra = [m for m in EXTRA if any(r["method"] == m for r in rows[metric])]
        if extra:
            paragraphs.append(f"Rows {', '.join(extra)}: the mask path of the authors' released scripts (Eigen off "
                              "for Old, no eq 10, mouth blend, Poisson blending; no published numbers).")
        for text in paragraphs:  # one paragraph each (consecutive lines would run into one), each a sentence
            lines += [text if text.endswith(".") else text + ".", ""]
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> None:
    """Rows (dicts with the same keys) as CSV with a header, atomically."""
    if not rows:
        atomic_bytes(b"", path)
        return
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_bytes(buf.getvalue().encode(), path)




__all__ = ["TABLE_FILES", "METRICS", "MD_COLUMNS", "MD_HEADER", "applicable", "table_rows", "markdown_tables", "write_csv"]
