"""The paper's figures as matplotlib panels, and saving them with provenance: drawing only.

Every function here takes results already computed: tensors (images (3, H, W) in [-1, 1], maps
(H, W) in [0, 1]), or for Figures 2-4 a :class:`FigureFaces` (the method's
:class:`paperlib.method.pipeline.BatchEdit` per face, as :mod:`paperlib.teaching.edits` computes it
from a profile's ``Setup``). Nothing here runs a network or knows a profile.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib.pyplot as plt
import torch

Panel = torch.Tensor | None


def to_rgb(image: torch.Tensor):
    """(3, H, W) in [-1, 1] -> a (H, W, 3) numpy array in [0, 1] for imshow."""
    return (image.detach().float().cpu().clamp(-1, 1) * 0.5 + 0.5).permute(1, 2, 0).numpy()


def overlay_cam(image: torch.Tensor, cam: torch.Tensor, weight: float = 0.5) -> torch.Tensor:
    """A CAM (H, W) in [0, 1] as a jet heat map over ``image`` (3, H, W) in [-1, 1]; returns (3, H, W) in [-1, 1]."""
    heat = torch.as_tensor(plt.get_cmap("jet")(cam.detach().float().cpu().numpy())[..., :3]).permute(2, 0, 1).float()
    mixed = (1 - weight) * (image.detach().float().cpu() * 0.5 + 0.5) + weight * heat
    return mixed.clamp(0, 1) * 2 - 1


#: Font size of panel titles and of captions (a caption is never smaller than a title).
TITLE_FONTSIZE = 9
CAPTION_FONTSIZE = 9
#: Points per character of DejaVu Sans (matplotlib's default) on average, per point of font size.
_CHAR_WIDTH = 0.56
#: The label matplotlib gives the shared colour-bar axes (``ax.get_label()``), for finding it.
COLORBAR_LABEL = "colour scale"
#: The common scale label of CAM/mask panels drawn with :func:`overlay_cam`.
CAM_SCALE = "jet over the image: map value 0 (blue) to 1 (red); CAMs min-max scaled to 0-1"


#: Stands for a space inside a mathtext span while :func:`wrap_to_width` wraps (never in a caption).
_MATH_SPACE = "\x00"


def _math_spans(text: str) -> list[tuple[str, bool]]:
    """``text`` cut at its ``$`` signs: ``(piece, is_math)`` in order, mathtext spans with their ``$``."""
    pieces = text.split("$")
    if len(pieces) % 2 == 0:
        raise ValueError(f"text: an odd number of $ signs in {text!r}; mathtext spans come in $...$ pairs")
    return [(f"${p}$" if i % 2 else p, bool(i % 2)) for i, p in enumerate(pieces) if p or not i % 2]


def wrap_to_width(text: str, width_in: float, fontsize: float) -> list[str]:
    """``text`` wrapped (textwrap, not matplotlib's ``wrap=True``) to lines that fit ``width_in``
    inches at ``fontsize`` points; existing line breaks are kept, and a mathtext span (``$...$``)
    is never cut (a cut span would not render)."""
    import textwrap

    chars = max(20, int(width_in * 72 / (_CHAR_WIDTH * fontsize)))
    lines = []
    for para in text.split("\n"):
        glued = "".join(p.replace(" ", _MATH_SPACE) if math else p for p, math in _math_spans(para))
        wrapped = textwrap.wrap(glued, chars, break_long_words=False, break_on_hyphens=False)
        lines += [line.replace(_MATH_SPACE, " ") for line in (wrapped or [""])]
    return lines


#: Mathtext commands and their plain-text reading, for alternative text.
_MATH_WORDS = {r"\Delta": "Δ", r"\odot": "⊙", r"\alpha": "α", r"\cdot": "·", r"\prime": "'", r"\mathrm": "",
               r"\left": "", r"\right": "", "{": "", "}": ""}


def plain_text(text: str) -> str:
    """``text`` with its mathtext spans written as plain text (``$S_{org}$`` -> ``S_org``), for
    alternative text that a screen reader reads."""
    out = []
    for piece, math in _math_spans(text):
        if math:
            piece = piece[1:-1]
            for command, word in _MATH_WORDS.items():
                piece = piece.replace(command, word)
        out.append(piece)
    return "".join(out)


def _lines_height(n_lines: int, fontsize: float) -> float:
    """Inches that ``n_lines`` lines of text at ``fontsize`` take (line spacing 1.3)."""
    return n_lines * fontsize * 1.3 / 72


def panel_grid(rows: Sequence[Sequence[Panel]], col_titles: Sequence[str], row_titles: Sequence[str] = (),
               caption: str = "", size: float = 1.9, labels: Sequence[Sequence[str]] = (),
               scale: str = "") -> plt.Figure:
    """A grid of image panels; ``None`` draws an "n/a" panel (a method that does not apply), the
    size of the image panels beside it.
    ``labels``: per row, a line under each panel (e.g. the output's edit kept and MAE; "" for none).
    ``scale``: where some panels are heat maps (:func:`overlay_cam`, jet over 0-1), what their 0-1
    means; one shared horizontal jet colour bar labelled with it is drawn under the panels.
    ``caption``: wrapped to the figure's width, at :data:`CAPTION_FONTSIZE` (not smaller than the titles)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    n_rows, n_cols = len(rows), len(col_titles)
    width = size * n_cols
    cap_lines = wrap_to_width(caption, 0.95 * width, CAPTION_FONTSIZE) if caption else []
    cap_h = _lines_height(len(cap_lines), CAPTION_FONTSIZE) + 0.1 if caption else 0.0
    scale_lines = wrap_to_width(scale, 0.9 * width, CAPTION_FONTSIZE) if scale else []
    bar_h, ticks_h = 0.12, 0.2
    scale_h = bar_h + ticks_h + _lines_height(len(scale_lines), CAPTION_FONTSIZE) + 0.15 if scale else 0.0
    height = size * n_rows + cap_h + scale_h
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False)
    shapes = [tuple(p.shape[-2:]) for row in rows for p in row if p is not None]
    aspect = shapes[0][0] / shapes[0][1] if shapes else 1.0
    for r, row in enumerate(rows):
        if len(row) != n_cols:
            raise ValueError(f"rows: row {r} has {len(row)} panels, expected {n_cols} (one per column title)")
        for c, panel in enumerate(row):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if panel is None:
                ax.set_box_aspect(aspect)  # as tall as the image panels beside it, not the whole cell
                ax.text(0.5, 0.5, "n/a", ha="center", va="center", fontsize=12, color="0.5")
            else:
                ax.imshow(to_rgb(panel))
            if r == 0:
                ax.set_title(col_titles[c], fontsize=TITLE_FONTSIZE)
            if c == 0 and r < len(row_titles):
                ax.set_ylabel(row_titles[r], fontsize=TITLE_FONTSIZE)
            if r < len(labels) and labels[r][c]:
                ax.set_xlabel(labels[r][c], fontsize=7)
    if caption:
        fig.text(0.5, 0.05 / height, "\n".join(cap_lines), ha="center", va="bottom", fontsize=CAPTION_FONTSIZE,
                 linespacing=1.3)
    # the top inset: tight_layout with a rect leaves a one-row grid's titles a little above the figure
    fig.tight_layout(rect=(0, (cap_h + scale_h) / height, 1, 1 - 0.08 / height))
    if any(any(row) for row in labels) and n_rows > 1:  # room for a line under a panel above the next row
        fig.subplots_adjust(hspace=max(fig.subplotpars.hspace, 0.16))
    if scale:
        bar_w = min(3.0, 0.6 * width)
        bottom = cap_h + _lines_height(len(scale_lines), CAPTION_FONTSIZE) + ticks_h + 0.05
        cax = fig.add_axes(((1 - bar_w / width) / 2, bottom / height, bar_w / width, bar_h / height),
                           label=COLORBAR_LABEL)
        bar = fig.colorbar(ScalarMappable(Normalize(0, 1), cmap="jet"), cax=cax, orientation="horizontal",
                           ticks=[0, 0.5, 1])
        bar.ax.tick_params(labelsize=8, length=2, pad=1)
        bar.set_label("\n".join(scale_lines), fontsize=CAPTION_FONTSIZE, labelpad=2, linespacing=1.3)
    fig.paperlib_alt = alt_text(fig, caption)
    return released(fig)


def alt_text(fig: plt.Figure, caption: str = "") -> str:
    """The alternative text of ``fig``: its caption (default: its suptitle and texts), then its
    panels' titles and the colour scale's label."""
    parts = [caption] if caption else ([fig._suptitle.get_text()] if fig._suptitle else []) + [
        t.get_text().replace("\n", " ") for t in fig.texts]
    titles = [ax.get_title().replace("\n", " ") for ax in fig.axes if ax.get_title()]
    bars = [ax.get_xlabel().replace("\n", " ") for ax in fig.axes if ax.get_label() == COLORBAR_LABEL]
    text = " ".join(p.strip() for p in parts if p.strip())
    if titles:
        text += f" Panels: {'; '.join(titles)}."
    if bars:
        text += f" Colour scale: {bars[0]}."
    return plain_text(text.strip()) or "A figure"


def figure_html(fig: plt.Figure, alt: str | None = None, dpi: int = 100) -> str:
    """``fig`` as an HTML ``<img>`` (base64 PNG) with ``alt`` (default: :func:`alt_text`) as its
    alternative text."""
    import base64
    import html
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    alt = alt if alt is not None else getattr(fig, "paperlib_alt", None) or alt_text(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}"/>'


def released(fig: plt.Figure) -> plt.Figure:
    """``fig`` closed in pyplot: a notebook then shows it once, as the cell's value, and not a
    second time when the inline backend draws the still-open figures at the end of the cell.
    It shows as an ``<img>`` with alternative text (:func:`figure_html`; the PNG that the inline
    backend adds carries the text as ``alt`` metadata)."""
    plt.close(fig)

    def _repr_mimebundle_(include=None, exclude=None):
        alt = getattr(fig, "paperlib_alt", None) or alt_text(fig)
        return {"text/html": figure_html(fig, alt)}, {"image/png": {"alt": alt}}

    fig._repr_mimebundle_ = _repr_mimebundle_
    return fig


def save_figure(fig: plt.Figure, out_dir: str | Path, name: str, provenance: dict) -> list[Path]:
    """Write ``name.png`` and ``name.pdf`` with ``provenance`` in their metadata; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(provenance, sort_keys=True, default=str)
    png, pdf = out / f"{name}.png", out / f"{name}.pdf"
    fig.savefig(png, dpi=110, metadata={"Software": "paperlib", "Description": text})
    fig.savefig(pdf, metadata={"Creator": "paperlib", "Subject": text})
    return [png, pdf]


# ------------------------------------------------------------------ the paper's figures
def mae(a: torch.Tensor, b: torch.Tensor) -> float:
    """The mean absolute difference of two images in [-1, 1], on the [0, 1] scale."""
    return ((a - b).abs().mean() / 2).item()


def panel_label(kept: float | None, damage: float | None) -> str:
    """The line under an output panel: how much of the edit it kept and how far it moved from the source."""
    k = "—" if kept is None else f"{kept:.2f}"
    return f"kept {k} · MAE {damage:.3f}" if damage is not None else ""


#: The colour scale of Figures 2 and 3's map panels (the mask M of each variant, jet over the original).
MASK_SCALE = "map panels: the variant's mask $M$ (0 = keep the original, 1 = take the edit), jet over the original"


#: The caption's sentence on the panel labels.
LABELS_NOTE = (" Under each output: edit kept ({judge}; 0 = the source, 1 = the whole edit) and MAE against the "
               "source; a low MAE with little edit kept is no edit.")


def stamped(text: str, random_weights: bool = False) -> str:
    """A caption, stamped when the networks are random-init (a dry run)."""
    return f"RANDOM WEIGHTS (dry run, not the paper's networks). {text}" if random_weights else text


@dataclass
class FaceRow:
    """One row of Figures 2-4: face ``index`` edited for ``attribute`` (``edit``: the method's
    :class:`paperlib.method.pipeline.BatchEdit` with the figure's variants) and, for Figure 4, each
    baseline's output (3, H, W), None where the profile has no such baseline."""

    index: int
    attribute: str
    edit: object
    baselines: dict[str, torch.Tensor | None] = field(default_factory=dict)
    #: method or variant ("pSp", a mask variant, a baseline) -> the output's edit kept (None: no value)
    kept: dict[str, float | None] = field(default_factory=dict)


@dataclass
class FigureFaces:
    """What one of Figures 2-4 shows: its rows, the mask variants computed for them (the columns),
    the profile's name and whether its networks are random-init (both for the caption)."""

    rows: list[FaceRow]
    variants: tuple
    profile: str
    random_weights: bool = False
    judge: str = "exact"  # the judge of the rows' ``kept`` (:mod:`paperlib.evaluation.judges`)


def figure2(faces: FigureFaces) -> tuple[plt.Figure, dict]:
    """Figure 2: (a) original, (b) manipulated, (c) Diff-CAM activation, (d) Diff-CAM edit,
    (e) Diff-CAM++ activation, (f) Diff-CAM++ edit; one row per face. With the authors' code among
    ``faces.variants`` two more columns, the map and edit of the authors' released scripts."""
    variants = faces.variants
    panels, labels, numbers = [], [], []
    for r in faces.rows:
        e = r.edit
        src = e.source[0]
        panels.append([src, e.edited[0]] + [p for v in variants
                                            for p in (overlay_cam(src, e.masks[v][0]), e.outputs[v][0])])
        labels.append(["", panel_label(r.kept.get("pSp"), mae(e.edited, e.source))]
                      + [t for v in variants for t in ("", panel_label(r.kept.get(v), mae(e.outputs[v], e.source)))])
        row = {"index": r.index, "attribute": r.attribute}
        for v, key in zip(variants, ("diffcam", "diffcampp", "authors_code")):
            row[f"mae_{key}"] = mae(e.outputs[v], e.source)
            row[f"mask_area_{key}"] = e.masks[v].mean().item()
            row[f"kept_{key}"] = r.kept.get(v)
        numbers.append(row)
    cols = ["(a) original", "(b) manipulated", "(c) Diff-CAM map", "(d) Diff-CAM edit",
            "(e) Diff-CAM++ map", "(f) Diff-CAM++ edit", "(g) authors' code map", "(h) authors' code edit"]
    fig = panel_grid(panels, cols[:2 + 2 * len(variants)], [r.attribute for r in faces.rows], labels=labels,
                     scale=MASK_SCALE, caption=stamped(f"Figure 2 ({faces.profile} profile): Diff-CAM vs Diff-CAM++."
                                     + LABELS_NOTE.format(judge=faces.judge), faces.random_weights))
    return fig, {"rows": numbers}


def figure3(faces: FigureFaces) -> tuple[plt.Figure, dict]:
    """Figure 3, the ablation of the mask module: (a) Diff-CAM, (b) Grad-CAM++, (c) + TTA,
    (d) + PCA (Eigen), (e) + TTA + PCA, (f) Diff-CAM++ (``faces.variants``); per face a row of
    masks (over the original) and a row of edits."""
    variants = faces.variants
    panels, titles, labels, numbers = [], [], [], []
    for r in faces.rows:
        e = r.edit
        src = e.source[0]
        panels.append([overlay_cam(src, e.masks[v][0]) for v in variants])
        panels.append([e.outputs[v][0] for v in variants])
        titles += [f"{r.attribute}: mask", f"{r.attribute}: edit"]
        labels += [[""] * len(variants), [panel_label(r.kept.get(v), mae(e.outputs[v], e.source)) for v in variants]]
        numbers.append({"index": r.index, "attribute": r.attribute,
                        "mae": {v: mae(e.outputs[v], e.source) for v in variants},
                        "mask_area": {v: e.masks[v].mean().item() for v in variants},
                        "kept": {v: r.kept.get(v) for v in variants}})
    cols = ["(a) Diff-CAM", "(b) Grad-CAM++", "(c) + TTA", "(d) + PCA", "(e) + TTA + PCA", "(f) Diff-CAM++"]
    fig = panel_grid(panels, cols, titles, labels=labels, scale=MASK_SCALE,
                     caption=stamped(f"Figure 3 ({faces.profile} profile): ablation of the mask module."
                                     + LABELS_NOTE.format(judge=faces.judge), faces.random_weights))
    return fig, {"rows": numbers}


def figure4(faces: FigureFaces) -> tuple[plt.Figure, dict]:
    """Figure 4: (a) source, (b) pSp, (c) e4e, (d) ReStyle, (e) EOGI, (f) Diff-CAM++, one row per
    face (the paper: two Old rows, two Smiling rows). Baselines a profile does not have (None) are
    drawn as "n/a" panels. With the authors' code among ``faces.variants`` a column (g) for the
    authors' released scripts."""
    from ..evaluation.methods import VARIANT_METHODS

    variants = faces.variants
    panels, labels, numbers = [], [], []
    for r in faces.rows:
        e, baselines = r.edit, {m: r.baselines.get(m) for m in ("e4e", "ReStyle")}
        panels.append([e.source[0], e.edited[0], baselines["e4e"], baselines["ReStyle"]]
                      + [e.outputs[v][0] for v in variants])
        damage = {"pSp": mae(e.edited, e.source),
                  **{m: (mae(b[None], e.source) if b is not None else None) for m, b in baselines.items()},
                  **{v: mae(e.outputs[v], e.source) for v in variants}}
        labels.append([""] + [panel_label(r.kept.get(k), d) for k, d in damage.items()])
        numbers.append({"index": r.index, "attribute": r.attribute,
                        "mae": {VARIANT_METHODS.get(k, k): d for k, d in damage.items()},
                        "kept": {VARIANT_METHODS.get(k, k): r.kept.get(k) for k in damage}})
    cols = ["(a) source", "(b) pSp", "(c) e4e", "(d) ReStyle", "(e) EOGI", "(f) Diff-CAM++", "(g) authors' code"]
    has_baselines = any(b is not None for r in faces.rows for b in r.baselines.values())
    note = "" if has_baselines else " e4e/ReStyle: n/a (not part of this profile)."
    fig = panel_grid(panels, cols[:4 + len(variants)], [r.attribute for r in faces.rows], labels=labels,
                     caption=stamped(f"Figure 4 ({faces.profile} profile): qualitative comparison.{note}"
                                     + LABELS_NOTE.format(judge=faces.judge), faces.random_weights))
    return fig, {"rows": numbers}
