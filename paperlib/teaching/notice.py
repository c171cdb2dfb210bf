"""What to notice: one function per notebook that turns the notebook's own numbers (the sidecar dict it
writes with :func:`paperlib.teaching.notebook.finish`, or the rows it already has) into a short Markdown
paragraph for its closing cell. Nothing here is a fixed conclusion: every sentence names whatever the
numbers say (the smallest, the largest, the step that changes most), so another seed, profile or
attribute gives another sentence. Missing values (``None``, NaN, absent keys) are said to be missing,
never guessed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence

HEADING = "**What to notice** (computed from this run's numbers):"


# --------------------------------------------------------------------------- helpers
def _num(x) -> float | None:
    """``x`` as a float, or None when it is missing or not a finite number (a CSV string is parsed)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _fmt(x, spec: str = ".3f") -> str:
    v = _num(x)
    return "n/a" if v is None else format(v, spec)


def _paragraph(lines: Sequence[str]) -> str:
    if not lines:
        return f"{HEADING}\n\n- no numbers to read in this run."
    return "\n".join([HEADING, ""] + [f"- {line}" for line in lines])


def _argbest(values: Mapping[str, object], lowest: bool = True) -> str | None:
    """The key of the smallest (``lowest``) or largest finite value, None when there is none."""
    finite = {k: v for k, v in ((k, _num(v)) for k, v in values.items()) if v is not None}
    if not finite:
        return None
    return (min if lowest else max)(finite, key=finite.get)


def _split(flat: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """``{"Beard/pSp": x}`` → ``{"Beard": {"pSp": x}}`` (the sidecars' ``attribute/method`` keys)."""
    out: dict[str, dict[str, object]] = {}
    for key, value in flat.items():
        attribute, _, method = key.partition("/")
        out.setdefault(attribute, {})[method] = value
    return out


def _mean(values: Iterable) -> float | None:
    vs = [v for v in (_num(x) for x in values) if v is not None]
    return sum(vs) / len(vs) if vs else None


# --------------------------------------------------------------------------- 00_walkthrough
def walkthrough(numbers: Mapping) -> str:
    """00: which step of the ablation shrinks the mask most on this face, what Diff-CAM++ does to the MAE
    against the source, and at which CAM layer Grad-CAM++ moves the map most."""
    lines = []
    area = numbers.get("mask_area") or {}
    mae = numbers.get("mae_vs_source") or {}
    variants = [v for v in area if "authors" not in v]
    steps = {f"{a} → {b}": _num(area[a]) - _num(area[b]) for a, b in itertools.pairwise(variants)
             if _num(area[a]) is not None and _num(area[b]) is not None}
    step = max(steps, key=lambda k: abs(steps[k])) if steps else None
    if step is not None:
        verb = "shrinks" if steps[step] > 0 else "grows"
        lines.append(f"The step that changes the mask most on this face ({numbers.get('attribute', '?')}) is "
                     f"**{step}**: it {verb} the mask area by {abs(steps[step]):.3f} (share of the image).")
    if "Diff-CAM" in mae and "Diff-CAM++" in mae:
        lines.append(f"MAE against the source: Diff-CAM {_fmt(mae['Diff-CAM'], '.4f')}, Diff-CAM++ "
                     f"{_fmt(mae['Diff-CAM++'], '.4f')}; mask area {_fmt(area.get('Diff-CAM'))} vs "
                     f"{_fmt(area.get('Diff-CAM++'))}. A smaller MAE here also means less of the edit; "
                     "05_tables weighs it against the edit kept.")
    layers = {r.get("layer"): r.get("mean abs(map++ - map)") for r in numbers.get("gradcam_vs_plusplus") or []}
    layer = _argbest(layers, lowest=False)
    if layer is not None:
        l4 = layers.get("layer4")
        lines.append(f"Grad-CAM++ moves the map most at **{layer}** (mean |map++ − map| {_fmt(layers[layer])}"
                     + (f"; at layer4: {_fmt(l4)})." if layer != "layer4" and l4 is not None else ")."))
    return _paragraph(lines)


# --------------------------------------------------------------------------- 01_train_diffcam
def training(numbers: Mapping, good_accuracy: float = 0.9) -> str:
    """01: held-out accuracy (with its SE and pairs) and the final loss; whether the CAMs are worth reading."""
    if not numbers.get("trained", True):
        return _paragraph([f"Nothing was trained: the notebooks use {numbers.get('classifier', 'released weights')}."])
    acc, loss = _num(numbers.get("heldout_accuracy")), _num(numbers.get("final_loss"))
    lines = []
    if acc is None:
        lines.append("The held-out accuracy is missing: check the classifier before reading any CAM.")
    else:
        pairs = numbers.get("heldout_pairs")
        se = numbers.get("heldout_accuracy_se")
        detail = f" ± {_fmt(se)} on {pairs} fresh pairs" if pairs and _num(se) is not None else ""
        verdict = ("the classifier tells the attributes apart, so the other notebooks' CAMs point at something"
                   if acc >= good_accuracy else
                   f"below {good_accuracy:.2f}: the CAMs of the other notebooks are not worth reading yet "
                   "(train longer: `steps`)")
        lines.append(f"Held-out accuracy **{acc:.3f}**{detail}: {verdict}.")
    if loss is None:
        lines.append("The final loss is missing.")
    else:
        se = _num(numbers.get("final_loss_se"))
        lines.append(f"Final loss {loss:.3f}" + (f" (sd {se:.3f} over the last steps)" if se is not None else "")
                     + f" after {numbers.get('steps', '?')} steps; guessing among the 7 classes scores "
                     f"ln 7 ≈ {math.log(7):.2f}, so the classifier does "
                     f"{'better than guessing' if loss < math.log(7) else 'no better than guessing'}.")
    return _paragraph(lines)


# --------------------------------------------------------------------------- 02_figure2
def figure2(numbers: Mapping) -> str:
    """02: Diff-CAM vs Diff-CAM++ per row: mask area, MAE against the source and (where measured) edit kept."""
    rows = numbers.get("rows") or []
    lines = []
    for r in rows:
        a0, a1 = _num(r.get("mask_area_diffcam")), _num(r.get("mask_area_diffcampp"))
        m0, m1 = _num(r.get("mae_diffcam")), _num(r.get("mae_diffcampp"))
        size = ("smaller" if a1 < a0 else "not smaller") if a0 is not None and a1 is not None else "of unknown size"
        text = (f"Row {r.get('index', '?')} ({r.get('attribute', '?')}): Diff-CAM++'s mask is {size} "
                f"({_fmt(a1)} vs {_fmt(a0)} of the image), MAE {_fmt(m1, '.4f')} vs {_fmt(m0, '.4f')}")
        k0, k1 = _num(r.get("kept_diffcam")), _num(r.get("kept_diffcampp"))
        if k0 is not None and k1 is not None:
            text += f"; edit kept {k1:.2f} vs {k0:.2f}"
        lines.append(text + ".")
    kept = [(r.get("attribute"), _num(r.get("kept_diffcam")), _num(r.get("kept_diffcampp"))) for r in rows]
    lost = [(a, k0 - k1) for a, k0, k1 in kept if k0 is not None and k1 is not None]
    if lost:
        a, d = max(lost, key=lambda t: t[1])
        if d > 0:
            lines.append(f"The tighter mask costs most edit on **{a}** ({d:.2f} less kept than Diff-CAM): a lower "
                         "MAE there is partly an edit not made.")
        else:
            lines.append("Diff-CAM++ keeps at least as much of the edit as Diff-CAM on every row.")
    return _paragraph(lines)


# --------------------------------------------------------------------------- 03_figure3
def figure3(numbers: Mapping) -> str:
    """03: the ablation step that changes the mean mask area most, and the mean edit kept per variant."""
    rows = numbers.get("rows") or []
    variants = list(dict.fromkeys(v for r in rows for v in (r.get("mask_area") or {})))
    area = {v: _mean((r.get("mask_area") or {}).get(v) for r in rows) for v in variants}
    kept = {v: _mean((r.get("kept") or {}).get(v) for r in rows) for v in variants}
    lines = []
    steps = {(a, b): area[a] - area[b] for a, b in itertools.pairwise(variants)
             if area[a] is not None and area[b] is not None}
    if steps:
        a, b = max(steps, key=lambda k: abs(steps[k]))
        d = steps[(a, b)]
        lines.append(f"The step that changes the mask most is **{a} → {b}**: the mean mask area "
                     f"{'falls' if d > 0 else 'rises'} from {area[a]:.3f} to {area[b]:.3f} of the image.")
    if any(k is not None for k in kept.values()):
        lines.append("Edit kept per variant (mean over the rows): "
                     + ", ".join(f"{v} {_fmt(k, '.2f')}" for v, k in kept.items()) + ".")
        first, last = kept.get(variants[0]), kept.get(variants[-1])
        if first is not None and last is not None:
            lines.append(f"From {variants[0]} to {variants[-1]} the mask keeps {abs(first - last):.2f} "
                         f"{'less' if last < first else 'more'} of the edit: read each smaller MAE with it.")
    return _paragraph(lines)


# --------------------------------------------------------------------------- 04_figure4
def figure4(numbers: Mapping) -> str:
    """04: per row, the method with the least MAE against the source and how much of the edit it kept."""
    lines = []
    for r in numbers.get("rows") or []:
        mae, kept = r.get("mae") or {}, r.get("kept") or {}
        best = _argbest(mae)
        if best is None:
            lines.append(f"Row {r.get('index', '?')} ({r.get('attribute', '?')}): no MAE measured.")
            continue
        most = _argbest(kept, lowest=False)
        text = (f"Row {r.get('index', '?')} ({r.get('attribute', '?')}): least MAE **{best}** "
                f"({_fmt(mae[best], '.4f')}), edit kept {_fmt(kept.get(best), '.2f')}")
        if most is not None and most != best:
            text += f" (most kept: {most}, {_fmt(kept[most], '.2f')})"
        lines.append(text + ".")
    return _paragraph(lines)


# --------------------------------------------------------------------------- 05_tables
def lifts(localization_rows: Iterable[Mapping], variant: str = "Diff-CAM") -> dict[str, float]:
    """Per attribute, how much more of ``variant``'s CAM mass lies inside the edited region than its area
    would give by chance: ``mass_inside / region_share`` (1: no better than chance). Rows may come from
    ``EvalResult.ground_truth`` or ``localization.csv`` (strings); the ``all`` row is left out."""
    out = {}
    for r in localization_rows:
        if r.get("variant") != variant or r.get("attribute") in (None, "all"):
            continue
        inside, share = _num(r.get("mass_inside")), _num(r.get("region_share"))
        if inside is not None and share:
            out[r["attribute"]] = inside / share
    return out


def tables(numbers: Mapping, localization_rows: Iterable[Mapping] | None = None) -> str:
    """05: the attribute whose classifier looks least at its region (lowest Diff-CAM lift), per attribute
    the method with the lowest MAE and the method that keeps the least of the edit."""
    lines = []
    lift = lifts(localization_rows or [])
    worst = _argbest(lift)
    if worst is not None:
        lines.append(f"The classifier looks least at its region for **{worst}**: Diff-CAM's mass inside the "
                     f"edited region is {lift[worst]:.1f}× its area (1× is chance; "
                     + ", ".join(f"{a} {v:.1f}×" for a, v in lift.items() if a != worst)
                     + "). A tight mask there can miss the attribute.")
    mae = _split((numbers.get("ours") or {}).get("MAE") or {})
    kept = _split(numbers.get("edit_kept") or {})
    for attribute in list(dict.fromkeys([*mae, *kept])):
        low = _argbest(mae.get(attribute, {}))
        least = _argbest(kept.get(attribute, {}))
        parts = []
        if low is not None:
            parts.append(f"lowest MAE **{low}** ({_fmt(mae[attribute][low], '.4f')}, edit kept "
                         f"{_fmt(kept.get(attribute, {}).get(low), '.2f')})")
        if least is not None:
            parts.append(f"least of the edit kept: **{least}** ({_fmt(kept[attribute][least], '.2f')})")
        if parts:
            same = (" — the same method: part of its low MAE is edit not made"
                    if low is not None and low == least else "")
            lines.append(f"{attribute}: " + "; ".join(parts) + same + ".")
    if not mae:
        lines.append("No MAE in this run (see the status column of the tables).")
    return _paragraph(lines)


# --------------------------------------------------------------------------- 06_sweep
def sweep(numbers: Mapping) -> str:
    """06: per attribute, which methods reach EOGI's edit (at alpha 20) within the grid, at which alpha and
    with which damage (MAE against the source), and which do not."""
    lines = []
    target = numbers.get("target_kept") or {}
    alpha = _split(numbers.get("matched_alpha") or {})
    mae = _split(numbers.get("matched_mae") or {})
    missed = _split({k: None for k in numbers.get("not_reached") or []})
    for attribute in list(dict.fromkeys([*target, *alpha, *missed])):
        reached = {m: a for m, a in alpha.get(attribute, {}).items() if m != "EOGI" and _num(a) is not None}
        damage = {m: mae.get(attribute, {}).get(m) for m in reached}
        text = f"{attribute} (EOGI keeps {_fmt(target.get(attribute), '.2f')}): "
        if reached:
            text += "reached by " + ", ".join(
                f"{m} at alpha {_fmt(reached[m], '.1f')} with damage {_fmt(damage[m], '.4f')}" for m in reached)
            eogi = _num(mae.get(attribute, {}).get("EOGI"))
            best = _argbest(damage)
            if best is not None and eogi is not None:
                winner = best if _num(damage[best]) < eogi else "EOGI"
                text += f"; least damage at the same edit: **{winner}** (EOGI's own: {eogi:.4f})"
        else:
            text += "no other method reaches it in the grid"
        if missed.get(attribute):
            text += "; not reached: " + ", ".join(missed[attribute])
        lines.append(text + ".")
    return _paragraph(lines)
