"""Compare regenerated results with the committed ones, number by number, against tolerances
derived from standard errors (``python -m paperlib check`` and ``reproduce --check``).

Float training is not bit-identical across CPUs, so a regenerated ``figures/<profile>/`` differs
slightly from the committed one. This module says whether each difference is within the noise
the numbers themselves state.

What is compared: every ``*.json``, ``*.csv`` and ``*.md`` of the committed folder with the file
of the same name in the regenerated folder (PNG/PDF hold pixels, not numbers: not compared).
JSON is flattened into key paths; a list of rows (dicts with ``attribute``, ``method``,
``variant`` or ``index``) is matched row by row by those fields, not by position; a CSV is such a
list of rows. In a Markdown file the table rows are compared cell by cell (numbers against the
tolerance of the CSV value they display, plus one unit of the last printed digit for the
rounding of both displays; the words of a cell exactly); headings exactly; prose and footnotes
are skipped (free text, they name local paths).

The tolerance of a float is ``k * sqrt(se_committed**2 + se_regenerated**2)``:

* ``se`` of a mean over N images with a stored population sd (the tables' ``mean``/``std``/``n``,
  ``localization``'s ``X``/``X_std``/``n``): ``sd / sqrt(N - 1)`` (= the ddof=1 sd over sqrt(N)).
  A ``delta`` (mean minus a published constant) has the mean's SE. An ``sd`` itself:
  ``sd / sqrt(2 (N - 1))`` (its large-sample SE for roughly normal values).
* ``se`` stored by the writer next to the number (a sibling key ``<key>_se``, or ``<ancestor>_se``
  with the same sub-keys): the sidecar means of ``05_tables`` and the training numbers of
  ``01_train_diffcam`` (:func:`paperlib.teaching.notebook.table_numbers`, :func:`paperlib.teaching.notebook.training_numbers`).
* a number of one face in a figure (N = 1): the SE of one draw is the sd of that quantity over
  images: for an MAE, the tables' per-image sd of the same attribute and method (the figures'
  MAE is the tables' per-image MAE before 8-bit quantisation); otherwise the sd (ddof=1) over the distinct faces the figures report (every figure's ``rows``; one quantity
  under several names is unified by :data:`ALIASES`; all attributes pooled; at least
  :data:`MIN_FACES` faces, else the pooled within-kind sd of the quantity's kind, e.g. of the mask
  areas of every variant, each about its own variant's mean). Weak by nature: one face's number cannot be checked more tightly than
  the spread between faces; the evaluation's means over N images are the tight check.
* otherwise (integers, booleans, strings, settings, published constants, floats with no SE to
  derive): exact equality.

Why ``sqrt(se_c**2 + se_r**2)``: both runs estimate the same quantity; the difference of two
independent estimates has that SE. The two runs use the same images, so their errors are
positively correlated and the paired SE is smaller: the unpaired one is conservative.

Why ``k``: a two-sided normal quantile with Bonferroni's correction, ``k = z(1 - alpha / (2 m))``
with ``alpha = FAMILY_ALPHA = 0.05`` and ``m`` the number of floats compared with a tolerance
(Markdown displays not counted: they repeat the CSV numbers). If every regenerated number
estimates the same quantity as the committed one, the chance that any is flagged is at most 5 %.
Around a thousand numbers give k ~ 4. A number OUTSIDE moved by more than the image-sampling
noise its own table states: the committed precision is not reproducible there.

Not compared (listed in the output with the reason): :data:`SKIPPED` keys anywhere in a JSON
or CSV (provenance git/versions/dates, timings, resume state, cached-batch counts, weight hashes,
free-text notes). Exit status of :func:`main_check`: 0 when every committed number is within its
tolerance, 1 when one is OUTSIDE or a committed file or number is missing from the regenerated set.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

from ..infra.markdown import is_rule, table_cells
from ..synth.report import MD_COLUMNS as LOCALIZATION_MD_COLUMNS
from .judge_validation import MD_COLUMNS as JUDGES_MD_COLUMNS
from .stats import FAMILY_ALPHA, bonferroni_k, proportion_se, sample_sd, sd_standard_error, standard_error
from .leaderboard import MD_COLUMNS as LEADERBOARD_MD_COLUMNS
from .methods import VARIANT_METHODS
from .sweep import MD_COLUMNS as SWEEP_MD_COLUMNS
from .tables import MD_COLUMNS as TABLES_MD_COLUMNS

#: Fields that identify a row of a table or figure (matched by these, in this order).
ROW_KEYS: tuple[str, ...] = ("attribute", "method", "variant", "judge", "index", "alpha")
#: Keys not compared, wherever they appear, and why.
SKIPPED: dict[str, str] = {
    "git": "commit and dirty flag differ by design between checkouts",
    "versions": "library versions of the machine",
    "created": "a date", "date": "a date",
    "timings": "seconds: the machine's speed", "wall_time_s": "seconds: the machine's speed",
    "resumed_from": "whether a checkpoint was found",
    "batches": "how many batches came from the evaluation cache",
    "assets": "hashes of weights (trained weights are not bit-identical across CPUs)",
    "note": "free text (names local paths)",
    "*_se": "stored standard errors: inputs of the tolerances (the sds behind them are compared in the tables)",
}
#: One quantity under several names in the figure sidecars (walkthrough, Figure 2) -> Figure 3's name.
ALIASES: dict[str, tuple[str, ...]] = {
    "mae_vs_source": ("mae",), "mae_diffcam": ("mae", "Diff-CAM"), "mae_diffcampp": ("mae", "Diff-CAM++"),
    "mask_area_diffcam": ("mask_area", "Diff-CAM"), "mask_area_diffcampp": ("mask_area", "Diff-CAM++"),
}
#: Per-face quantity -> the table metric whose per-image sd over the evaluation's images is the SE of
#: one face's value (same attribute and method).
FACE_TABLE: dict[str, str] = {"mae": "MAE"}
#: Fewest distinct faces whose sd gives the SE of one face's number (fewer: compared exactly).
MIN_FACES = 3
#: Markdown column header -> the CSV columns its numbers display, in order: the writers' own
#: definitions (Tables 1-3, the localization summary, the leaderboard).
MD_COLUMNS: dict[str, tuple[str, ...]] = {**TABLES_MD_COLUMNS, **LOCALIZATION_MD_COLUMNS, **LEADERBOARD_MD_COLUMNS,
                                          **JUDGES_MD_COLUMNS, **SWEEP_MD_COLUMNS}
PATTERNS: tuple[str, ...] = ("*.json", "*.csv", "*.md")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?(?:e[+-]?\d+)?")
_FOOTNOTE = re.compile(r"\s*\[\d+\]")


class Missing:
    """Marks a committed value that the regenerated set lacks."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()


@dataclass
class Item:
    """One compared value: where it is, both values, their SEs, the display unit of a Markdown number."""

    file: str
    key: str
    committed: object
    regenerated: object
    se_committed: float | None = None
    se_regenerated: float | None = None
    basis: str = "exact"
    unit: float = 0.0
    counted: bool = True  # counts towards Bonferroni's m (False for Markdown displays)

    @property
    def is_float(self) -> bool:
        return isinstance(self.committed, float) and self.se_committed is not None

    def tolerance(self, k: float) -> float | None:
        """``k * sqrt(se_c^2 + se_r^2) + unit`` (None: compared exactly); a regenerated value without an
        SE of its own (e.g. written by an older writer) is given the committed one's."""
        if self.se_committed is None or not isinstance(self.committed, float):
            return None
        se_r = self.se_regenerated if self.se_regenerated is not None else self.se_committed
        return k * math.hypot(self.se_committed, se_r) + self.unit

    def within(self, k: float) -> bool:
        """Whether the regenerated value matches the committed one (within the tolerance for floats)."""
        a, b = self.committed, self.regenerated
        if b is MISSING:
            return False
        tol = self.tolerance(k)
        if _is_number(a) and _is_number(b):
            return abs(float(b) - float(a)) <= tol if tol is not None else float(a) == float(b)
        return a == b and type(a) is type(b)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# ------------------------------------------------------------------------------------ statistics
# standard_error, sd_standard_error, sample_sd, proportion_se, bonferroni_k: paperlib.evaluation.stats


# ------------------------------------------------------------------------------------ reading
def _cell(text: str):
    """A CSV cell as None, int, float or the text."""
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _row_component(row: dict) -> tuple:
    """A row's identity: ``("row", "Beard", "pSp")`` from its :data:`ROW_KEYS` fields."""
    return ("row", *(str(row[k]) for k in ROW_KEYS if k in row))


def flatten(tree, prefix: tuple = ()) -> dict[tuple, object]:
    """Leaves of a JSON tree by key path; lists of rows are keyed by :func:`_row_component`,
    other lists of dicts by position, lists of plain values are one leaf."""
    if isinstance(tree, dict):
        out: dict[tuple, object] = {}
        for k, v in tree.items():
            out.update(flatten(v, prefix + (str(k),)))
        return out
    if isinstance(tree, list) and tree and all(isinstance(r, dict) for r in tree):
        out = {}
        for i, r in enumerate(tree):
            comp = _row_component(r) if any(k in r for k in ROW_KEYS) else ("row", str(i))
            out.update(flatten(r, prefix + (comp,)))
        return out
    return {prefix: tree}


def read_numbers(path: Path) -> dict[tuple, object]:
    """The flattened contents of a JSON or CSV file (a CSV is ``{"rows": [...]}``)."""
    if path.suffix == ".csv":
        with open(path, newline="") as f:
            rows = [{k: _cell(v) for k, v in r.items()} for r in csv.DictReader(f)]
        return flatten({"rows": rows})
    try:
        return flatten(json.loads(path.read_text()))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}); regenerate it") from None


def show_key(path: tuple) -> str:
    """``rows[Beard/pSp].mean`` for a key path."""
    out = ""
    for comp in path:
        out += f"[{'/'.join(comp[1:])}]" if isinstance(comp, tuple) else (f".{comp}" if out else comp)
    return out


def skipped_key(path: tuple) -> str | None:
    """The :data:`SKIPPED` key on a path, or ``"*_se"`` for a stored SE (None when the path is compared)."""
    if any(isinstance(c, str) and c.endswith("_se") for c in path):
        return "*_se"
    return next((c for c in path if isinstance(c, str) and c in SKIPPED), None)


# ------------------------------------------------------------------------------------ SEs
def stored_se(flat: dict, path: tuple) -> float | None:
    """An SE the writer stored: ``<key>_se`` for any string component of the path (deepest first)."""
    for j in range(len(path) - 1, -1, -1):
        if isinstance(path[j], str):
            se = flat.get(path[:j] + (path[j] + "_se",) + path[j + 1:])
            if _is_number(se):
                return float(se)
    return None


def row_se(flat: dict, path: tuple) -> tuple[float | None, str]:
    """SE of a table cell from its row's ``n`` and sd (module doc); ``(None, "")`` when the row has none."""
    parent, leaf = path[:-1], path[-1]
    n = flat.get(parent + ("n",))
    if isinstance(leaf, str) and isinstance(flat.get(parent + (leaf.removesuffix("_std") + "_n",)), int):
        n = flat[parent + (leaf.removesuffix("_std") + "_n",)]  # a column with its own count (edit kept, identity)
    if not isinstance(leaf, str) or not isinstance(n, int) or n < 2:
        return None, ""
    if leaf in ("mean", "delta"):
        return standard_error(flat.get(parent + ("std",)), n), f"sd/√(n−1), n={n}"
    if leaf == "std" or (leaf.endswith("_std") and parent + (leaf[:-4],) in flat):
        return sd_standard_error(flat.get(path), n), f"SE of an sd, n={n}"
    if _is_number(flat.get(parent + (leaf + "_std",))):
        return standard_error(flat[parent + (leaf + "_std",)], n), f"sd/√(n−1), n={n}"
    return None, ""


def face_quantity(path: tuple) -> tuple:
    """The quantity of a per-face number: its key path without rows, :data:`ALIASES` applied."""
    out: tuple = ()
    for c in path:
        if isinstance(c, str) and c not in ("rows", "numbers"):
            out += ALIASES.get(c, (c,))
    return out


def face_pools(sidecars: dict[str, dict]) -> dict[tuple, list[float]]:
    """Per quantity, its value on each distinct face (row identity: attribute and index) in the rows of
    the figure sidecars; a face shown in several figures counts once. Rows with an ``n`` are means,
    not faces."""
    pools: dict[tuple, dict[tuple, float]] = {}
    for flat in sidecars.values():
        for path, v in flat.items():
            rows = [c for c in path if isinstance(c, tuple)]
            if rows and isinstance(v, float) and not _is_number(flat.get(path[:-1] + ("n",))):
                pools.setdefault(face_quantity(path), {})[rows[-1]] = v
    return {q: list(faces.values()) for q, faces in pools.items()}


def pooled_sd(groups: list[list[float]]) -> tuple[float | None, int]:
    """The pooled within-group sd ``sqrt(sum((n_g - 1) s_g^2) / sum(n_g - 1))`` of groups with at least
    two values, and its degrees of freedom (differences between the groups' means do not enter)."""
    groups = [g for g in groups if len(g) >= 2]
    dof = sum(len(g) - 1 for g in groups)
    if dof == 0:
        return None, 0
    return math.sqrt(sum((len(g) - 1) * sample_sd(g) ** 2 for g in groups) / dof), dof


def table_sds(csvs: dict[str, dict]) -> dict[tuple, tuple[float, int]]:
    """``(metric, attribute, method) -> (sd, n)`` of every table row with a per-image sd."""
    out = {}
    for flat in csvs.values():
        for path, sd in flat.items():
            if path[-1] == "std" and _is_number(sd):
                row = path[:-1]
                key = (flat.get(row + ("metric",)), flat.get(row + ("attribute",)), flat.get(row + ("method",)))
                if None not in key and _is_number(flat.get(row + ("n",))):
                    out[key] = (float(sd), flat[row + ("n",)])
    return out


def face_se(flat: dict, path: tuple, context: dict) -> tuple[float | None, str]:
    """SE of one face's number (N = 1): the per-image sd of the same metric, attribute and method in the
    tables (:data:`FACE_TABLE`), else the sd over the figures' faces (:func:`face_pools`)."""
    q = face_quantity(path)
    rows = [c for c in path if isinstance(c, tuple)]
    attribute = rows[-1][1] if rows else flat.get(path[:1] + ("attribute",))
    if q and q[0] in FACE_TABLE and len(q) == 2:
        sd_n = context["sds"].get((FACE_TABLE[q[0]], attribute, VARIANT_METHODS.get(q[1], q[1])))
        if sd_n is not None:
            return sd_n[0], f"one face (N=1): per-image sd of {FACE_TABLE[q[0]]} {attribute}/{q[1]}, n={sd_n[1]}"
    pools = context["faces"]
    pool = pools.get(q, [])
    if len(pool) >= MIN_FACES:
        return sample_sd(pool), f"one face (N=1): sd over {len(pool)} faces"
    sd, dof = pooled_sd([g for k, g in pools.items() if q and k[:1] == q[:1]])
    if sd is not None and dof >= MIN_FACES - 1:
        return sd, f"one face (N=1): pooled within-kind sd of {q[0]} over the faces, {dof} dof"
    return None, "exact"


def se_of(flat: dict, path: tuple, context: dict) -> tuple[float | None, str]:
    """The SE of the float at ``path`` and how it was obtained (module doc); ``(None, "exact")`` if none.
    ``context``: ``{"faces": face_pools(...), "sds": table_sds(...)}`` of the same folder."""
    se = stored_se(flat, path)
    if se is not None:
        return se, "stored se"
    se, basis = row_se(flat, path)
    if se is not None:
        return se, basis
    return face_se(flat, path, context)


# ------------------------------------------------------------------------------------ items
def json_csv_items(name: str, committed: dict, regenerated: dict, pools: tuple[dict, dict],
                   skipped: dict[str, str]) -> list[Item]:
    """Items of one JSON or CSV file (every committed leaf not skipped)."""
    items = []
    for path, a in committed.items():
        why = skipped_key(path)
        if why is not None:
            skipped[why] = SKIPPED[why]
            continue
        b = regenerated.get(path, MISSING)
        item = Item(name, show_key(path), a, b)
        if isinstance(a, float):
            item.se_committed, item.basis = se_of(committed, path, pools[0])
            if item.se_committed is not None and path in regenerated:
                item.se_regenerated = se_of(regenerated, path, pools[1])[0]
        items.append(item)
    return items


def md_rows(text: str) -> dict[tuple, list[str]]:
    """Markdown table rows by (section, label cells: those not starting with a number under a header not in
    :data:`MD_COLUMNS`): ``{(section, labels...): ["header\tcell", ...]}``;
    headings are kept as ``("#", heading)``. Prose and footnotes are left out."""
    out: dict[tuple, list[str]] = {}
    section, header = "", None
    for line in text.splitlines():
        if line.startswith("#"):
            section, header = line.lstrip("#").strip(), None
            out[("#", line.strip())] = []
        elif (cells := table_cells(line)) is not None:
            if header is None:
                header = cells
            elif not is_rule(cells):
                value = [h in MD_COLUMNS or re.match(r"[+-]?\d", c) is not None for h, c in zip(header, cells)]
                labels = tuple(c for c, v in zip(cells, value) if not v)
                out[(section, *labels)] = [f"{h}\t{c}" for h, c, v in zip(header, cells, value) if v]
    return out


def md_columns(header: str) -> tuple[str, ...]:
    """The CSV columns a Markdown column displays: :data:`MD_COLUMNS`, else the header as a column name
    (lower case, arrows dropped, spaces as ``_``) and its ``_std``."""
    if header in MD_COLUMNS:
        return MD_COLUMNS[header]
    name = "_".join(header.replace("↑", "").replace("↓", "").lower().split())
    return (name, name + "_std")


def md_source(key: tuple, csvs: dict[str, dict]) -> tuple[str, tuple] | None:
    """The CSV file and row a Markdown row displays: ``Table N: METRIC`` sections -> the CSV whose
    rows have that metric, row (attribute, method); other sections (an attribute, or ``all
    attributes``) -> the CSV with ``variant`` rows, row (attribute, variant); else the CSV with exactly one
    row whose identity starts with the row's labels (the matched-edit table: ``matched.csv``)."""
    section, labels = key[0], key[1:]
    m = re.match(r"Table \d+: (\S+)", section)
    for name, flat in csvs.items():
        metrics = {v for p, v in flat.items() if p[-1] == "metric"}
        variants = any(p[-1] == "variant" for p in flat)
        if m and m.group(1) in metrics and len(labels) == 2:
            return name, ("row", *labels)
        if not m and variants and len(labels) == 1:
            return name, ("row", "all" if section.startswith("all") else section, labels[0])
    for name, flat in csvs.items():  # another table (the matched edit): the CSV with one row these labels start
        rows = {p[1] for p in flat if len(p) > 1 and isinstance(p[1], tuple) and p[1][1:len(labels) + 1] == labels}
        if not m and len(rows) == 1:
            return name, rows.pop()
    return None


def md_items(name: str, committed: str, regenerated: str, csvs: tuple[dict, dict], pools) -> list[Item]:
    """Items of one Markdown file: headings and cell words exactly, numbers against their CSV value's tolerance."""
    a_rows, b_rows = md_rows(committed), md_rows(regenerated)
    items = []
    for key, cells in a_rows.items():
        label = " ".join(key[1:]) if key[0] == "#" else f"{key[0]} | {' | '.join(key[1:])}"
        if key not in b_rows:
            items.append(Item(name, label, "row", MISSING, counted=False))
            continue
        source = md_source(key, csvs[0]) if key[0] != "#" else None
        n = _row_n(cells)
        for cell_a, cell_b in zip(cells, b_rows[key] + [""] * len(cells)):
            items += _md_cell_items(name, label, cell_a, cell_b, source, csvs, pools, n)
    return items


def _row_n(cells: list[str]) -> int | None:
    """The ``n`` column of a Markdown row (images the row's means are over), if it has one."""
    for cell in cells:
        header, _, text = cell.partition("\t")
        if header == "n" and text.strip().isdigit():
            return int(text)
    return None


def _displayed_se(item: Item, numbers_a: list[str], numbers_b: list[str], position: int, n: int) -> None:
    """SEs of a Markdown ``mean ± sd`` cell whose CSV gives none (a row no CSV holds), from the cell itself and the row's
    ``n``: ``sd/√(n−1)`` for the mean, the SE of an sd for the sd (module doc), + 1 display unit."""
    se = standard_error if position == 0 else sd_standard_error
    item.se_committed = se(float(numbers_a[1]), n)
    item.se_regenerated = se(float(numbers_b[1]), n) if len(numbers_b) == 2 else None
    item.unit = 10.0 ** -len(numbers_a[position].split(".")[1])
    item.basis = f"{'sd/√(n−1)' if position == 0 else 'SE of an sd'} from the cell's ± sd, n={n} + 1 display unit"


def _md_cell_items(name, label, cell_a, cell_b, source, csvs, pools, n: int | None = None) -> list[Item]:
    header, text_a = cell_a.split("\t")
    text_b = cell_b.split("\t")[-1]
    words_a, words_b = (_NUMBER.sub("#", _FOOTNOTE.sub("", t)) for t in (text_a, text_b))
    items = [Item(name, f"{label} | {header} (words)", words_a, words_b, counted=False)] if words_a != words_b else []
    nums_a, nums_b = (_NUMBER.findall(_FOOTNOTE.sub("", t)) for t in (text_a, text_b))
    for position, (column, a, b) in enumerate(zip(md_columns(header), nums_a, nums_b + [None] * len(nums_a))):
        if column.endswith("_se"):
            continue  # a displayed stored SE: an input of the tolerances, as ``*_se`` in JSON and CSV
        item = Item(name, f"{label} | {column}", float(a) if "." in a else int(a),
                    MISSING if b is None else (float(b) if "." in b else int(b)), counted=False)
        if source is not None and "." in a:
            csv_name, row = source
            path = ("rows", row, column)
            item.se_committed, basis = se_of(csvs[0].get(csv_name, {}), path, pools[0])
            item.se_regenerated = se_of(csvs[1].get(csv_name, {}), path, pools[1])[0]
            if item.se_committed is not None:
                item.unit = 10.0 ** -len(a.split(".")[1])
                item.basis = f"{basis} (from {csv_name}) + 1 display unit"
        if item.se_committed is None and n and len(nums_a) == 2 and "±" in text_a and all("." in x for x in nums_a):
            _displayed_se(item, nums_a, nums_b, position, n)
        items.append(item)
    return items


# ------------------------------------------------------------------------------------ compare
@dataclass
class Report:
    """The outcome of :func:`compare`: every item, the k used, what was skipped, missing files."""

    items: list[Item]
    k: float
    m: int
    skipped: dict[str, str]
    missing_files: list[str]
    new_files: list[str]

    @property
    def outside(self) -> list[Item]:
        return [i for i in self.items if not i.within(self.k)]

    @property
    def ok(self) -> bool:
        return not self.outside and not self.missing_files


def _files(folder: Path) -> list[str]:
    return sorted({p.name for pattern in PATTERNS for p in folder.glob(pattern) if p.is_file()})


def compare(regenerated: str | Path, committed: str | Path) -> Report:
    """Compare every number of the committed folder's files with the regenerated folder's (module doc)."""
    regenerated, committed = Path(regenerated), Path(committed)
    for name, folder in (("regenerated", regenerated), ("against", committed)):
        if not folder.is_dir():
            raise FileNotFoundError(f"{name}: {folder} is not a folder; give a folder of figures, tables and "
                                    f"sidecars (e.g. figures/synthetic)")
    names_a, names_b = _files(committed), _files(regenerated)
    if not names_a:
        raise ValueError(f"against: {committed} holds no .json, .csv or .md file to compare")
    data = [{n: read_numbers(f / n) for n in names if not n.endswith(".md")}
            for f, names in ((committed, names_a), (regenerated, names_b))]
    csvs = tuple({n: flat for n, flat in d.items() if n.endswith(".csv")} for d in data)
    pools = tuple({"faces": face_pools({n: flat for n, flat in d.items() if n.endswith(".json")}),
                   "sds": table_sds(c)} for d, c in zip(data, csvs))
    skipped: dict[str, str] = {}
    items: list[Item] = []
    for name in names_a:
        if name not in names_b:
            continue
        if name.endswith(".md"):
            items += md_items(name, (committed / name).read_text(), (regenerated / name).read_text(), csvs, pools)
        else:
            items += json_csv_items(name, data[0][name], data[1][name], pools, skipped)
    m = sum(1 for i in items if i.is_float and i.counted)
    return Report(items, bonferroni_k(m), m, skipped, [n for n in names_a if n not in names_b],
                  [n for n in names_b if n not in names_a])


def _fmt(v) -> str:
    return f"{v:.6g}" if isinstance(v, float) else repr(v) if isinstance(v, (str, list)) else str(v)


def report_lines(report: Report, only_outside: bool = False) -> list[str]:
    """One line per number (file, key, committed, regenerated, delta, tolerance, OK/OUTSIDE), text
    only when it differs, then the missing files, what was skipped and a summary."""
    lines = []
    for it in report.items:
        ok = it.within(report.k)
        if ok and (only_outside or not _is_number(it.committed)):
            continue
        status = "OK" if ok else ("MISSING" if it.regenerated is MISSING else "OUTSIDE")
        both = _is_number(it.committed) and _is_number(it.regenerated)
        delta = f"{float(it.regenerated) - float(it.committed):+.3g}" if both else "—"
        tol = it.tolerance(report.k)
        tol_text = f"±{tol:.3g} ({it.basis})" if tol is not None else "exact"
        lines.append(f"{it.file}  {it.key}  {_fmt(it.committed)}  {_fmt(it.regenerated)}  {delta}  {tol_text}  {status}")
    lines += [f"{name}: MISSING from the regenerated folder" for name in report.missing_files]
    lines += [f"{name}: new in the regenerated folder (not compared)" for name in report.new_files]
    lines += [f"skipped '{key}': {why}" for key, why in sorted(report.skipped.items())]
    lines.append("skipped *.png, *.pdf: pixels, not numbers; Markdown prose and footnotes: free text")
    numbers = [i for i in report.items if _is_number(i.committed)]
    bad = report.outside
    lines.append(f"check: {len(numbers)} numbers and {len(report.items) - len(numbers)} settings, words and empty cells "
                 f"compared; "
                 f"{sum(i.regenerated is MISSING for i in bad)} missing, "
                 f"{sum(i.regenerated is not MISSING for i in bad)} outside, {len(report.missing_files)} missing "
                 f"files; tolerance = k·√(se_committed² + se_regenerated²) with k = {report.k:.2f} (two-sided, "
                 f"family-wise α = {FAMILY_ALPHA} over {report.m} floats, Bonferroni) -> "
                 f"{'OK' if report.ok else 'FAILED'}")
    return lines


def main_check(regenerated: str | Path, committed: str | Path, only_outside: bool = False) -> int:
    """Print the comparison (:func:`report_lines`); 0 when every number is within, 1 otherwise."""
    report = compare(regenerated, committed)
    print("\n".join(report_lines(report, only_outside)))
    return 0 if report.ok else 1


__all__ = ["FAMILY_ALPHA", "SKIPPED", "Item", "Report", "compare", "report_lines", "main_check", "standard_error",
           "sd_standard_error", "sample_sd", "proportion_se", "bonferroni_k", "flatten", "read_numbers"]
