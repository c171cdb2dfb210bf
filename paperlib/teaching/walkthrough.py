"""The teaching walkthrough: the method step by step on one face (the widget explorer is
:mod:`paperlib.teaching.explorer`).

Each function takes the method's result on one face (a :class:`paperlib.method.pipeline.BatchEdit`,
:func:`paperlib.teaching.edits.edit_face`) and, where it runs the classifier again, an evaluation
:class:`paperlib.profiles.Setup` (either profile), and returns a figure or a small table, so the
notebook stays a sequence of one-line calls.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..infra.markdown import table
from ..method.cam import (
    TTA_FACTORS,
    activations_and_grads,
    cam_map,
    first_component_projection,
    gradcam_plus_plus_alpha,
    gradcam_plus_plus_weights,
    gradcam_weights,
    minmax_normalize,
    normalize_cam,
    tta_views,
    weighted_activations,
)
from ..method.masks import segmentation_masks
from ..method.pipeline import BatchEdit, classifier_input
from .cam_layers import CAM_LAYERS, gradcam_and_plusplus_maps, layer_comparison
from .figures import mae, overlay_cam, panel_grid


def _heat(image: torch.Tensor, diff: torch.Tensor, scale: torch.Tensor | None = None) -> torch.Tensor:
    """A per-pixel difference (H, W) as a heat map over ``image``, divided by ``scale`` (default its max)."""
    scale = diff.max() if scale is None else scale
    return overlay_cam(image, (diff / scale.clamp(min=1e-8)).clamp(0, 1))


def steps_figure(e: BatchEdit, attribute: str):
    """Inversion and edit: I, I' = G(E(I)), T = G(w + alpha n), and what T changed measured
    against I' (the method's reference) and against I (without the reconstruction as reference:
    the inversion's error shows up everywhere). Both differences share one colour scale."""
    to_rec = (e.edited - e.reconstruction).abs().mean(1)[0]
    to_src = (e.edited - e.source).abs().mean(1)[0]
    scale = torch.maximum(to_rec.max(), to_src.max())
    return panel_grid([[e.source[0], e.reconstruction[0], e.edited[0], _heat(e.edited[0], to_rec, scale),
                        _heat(e.edited[0], to_src, scale)]],
                      ["$I$ (source)", "$I' = G(E(I))$", f"$T$ ({attribute})", "$|T - I'|$ (reference $I'$)",
                       "$|T - I|$ (without $I'$)"],
                      scale=f"$|T - I'|$ and $|T - I|$ (mean over RGB) divided by their common max, {scale.item():.3g} "
                            "on the "
                            "[-1, 1] pixel scale",
                      caption="Eq 1-3: the edit moves $w$; against $I'$ only the edit shows, against $I$ the inversion's "
                              f"misses too (mean {to_rec.mean().item():.3g} vs {to_src.mean().item():.3g}, one colour scale).")


def _pair(setup, e: BatchEdit) -> torch.Tensor:
    return classifier_input(setup.components, e.reconstruction, e.edited)


def differential_features_figure(setup, e: BatchEdit):
    """Eq 4: ``Delta = E(T) - E(I')``, the channel-mean of the encoder's difference (and |Delta|)."""
    net = setup.components.classifier
    pair = _pair(setup, e)
    with torch.no_grad():
        delta = net.shared(pair[:, 3:]) - net.shared(pair[:, :3])
    size = e.source.shape[-2:]
    mean = F.interpolate(delta.mean(1, keepdim=True), size=size, mode="nearest")[0, 0]
    mag = F.interpolate(delta.abs().mean(1, keepdim=True), size=size, mode="nearest")[0, 0]
    span = mean.abs().max().clamp(min=1e-8)
    return panel_grid([[e.source[0], overlay_cam(e.source[0], mean / (2 * span) + 0.5),
                        overlay_cam(e.source[0], mag / mag.max().clamp(min=1e-8))]],
                      ["$I$", r"mean $\Delta$ (signed)", r"mean $|\Delta|$"],
                      scale=rf"mean $\Delta$: 0.5 = no difference, 0 and 1 = -/+ its max |value| {span.item():.3g}; "
                            rf"mean $|\Delta|$: 0 to its max {mag.max().item():.3g}",
                      caption=rf"Eq 4: differential features $\Delta = E(T) - E(I')$, {tuple(delta.shape[1:])} per image.")


def alpha_table(setup, e: BatchEdit, attribute: str, n: int = 5) -> list[dict[str, float]]:
    """Eq 6-7 on real numbers, for the ``n`` channels with the largest Grad-CAM++ weight: the
    gradient g at the first position, g², g³, Σ_ab A_ab, α (eq 6), the Grad-CAM++ weight
    (eq 7) and the Grad-CAM weight (mean g). With layer4 feeding global average pooling, g is
    the same at every position of a channel, so alpha only varies across channels."""
    c = setup.components
    target = torch.tensor([c.class_index(attribute)])
    act, grads = activations_and_grads(c.classifier, c.classifier.target_layer, _pair(setup, e), target)
    alpha = gradcam_plus_plus_alpha(grads, act)[0]
    w_pp, w_g = gradcam_plus_plus_weights(grads, act)[0], gradcam_weights(grads)[0]
    rows = []
    for k in w_pp.argsort(descending=True)[:n].tolist():
        g = grads[0, k].flatten()
        rows.append({"channel k": k, "g": g[0].item(), "g²": (g[0] ** 2).item(), "g³": (g[0] ** 3).item(),
                     "g constant over positions": bool((g == g[0]).all()), "Σ_ab A_ab": act[0, k].sum().item(),
                     "α (eq 6)": alpha[k].flatten()[0].item(), "w_k Grad-CAM++ (eq 7)": w_pp[k].item(),
                     "w_k Grad-CAM": w_g[k].item()})
    return rows


def _cell(v) -> str:
    """A table cell: numbers with 4 significant digits, None empty."""
    return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))


def markdown(rows: list[dict]) -> str:
    """A list of dicts as a Markdown table (numbers with 4 significant digits)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return "\n".join(table(keys, ([_cell(r.get(k)) for k in keys] for r in rows)))


def table_html(rows: list[dict]) -> str:
    """A list of dicts as an HTML table whose number cells never wrap (a narrow notebook scrolls the
    table sideways instead of breaking ``-1.234e-05`` across lines); headers may wrap."""
    import html

    keys = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f'<td style="white-space:nowrap">{html.escape(_cell(r.get(k)))}</td>' for k in keys)
                   + "</tr>" for r in rows)
    return f'<div style="overflow-x:auto"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def no_mask_figure(e: BatchEdit, variant: str = "Diff-CAM++"):
    """Why a mask: without one the result is T itself (what a plain encoder edit gives), so every
    pixel is the generator's; with the CAM mask, F keeps I outside the edited region."""
    src, t, f = e.source[0], e.edited[0], e.blended[variant][0]
    d_t, d_f = (t - src).abs().mean(0), (f - src).abs().mean(0)
    scale = d_t.max()
    return panel_grid([[src, t, _heat(t, d_t, scale), overlay_cam(src, e.masks[variant][0]), f, _heat(f, d_f, scale)]],
                      ["$I$", "without mask: $T$", "$|T - I|$", f"mask $M$ ({variant})", "with mask: $F$", "$|F - I|$"],
                      scale=f"$|T - I|$ and $|F - I|$ (mean over RGB) divided by max $|T - I|$ = {scale.item():.3g}; "
                            "mask $M$: its value, 0 = keep $I$, 1 = take $T$",
                      caption=f"Without a mask the output differs from $I$ everywhere (MAE {mae(t, src):.3g}); with "
                              f"the mask only where $M$ is on (MAE {mae(f, src):.3g}). One colour scale.")


def layer_table(setup, e: BatchEdit, attribute: str) -> list[dict]:
    """Grad-CAM vs Grad-CAM++ at each CAM layer on this face (:func:`paperlib.teaching.cam_layers.layer_comparison`)."""
    c = setup.components
    return layer_comparison(c.classifier, _pair(setup, e), c.class_index(attribute))


def gradcam_vs_plusplus_figure(setup, e: BatchEdit, attribute: str, layers: tuple[str, ...] = CAM_LAYERS):
    """One row per CAM layer: the Grad-CAM map, the Grad-CAM++ map and their difference, on this face."""
    c = setup.components
    pair, size = _pair(setup, e), e.source.shape[-2:]
    src, rows, titles = e.source[0], [], []
    for layer in layers:
        gc, pp = (F.interpolate(m[:, None], size=size, mode="nearest")[0, 0]
                  for m in gradcam_and_plusplus_maps(c.classifier, layer, pair, c.class_index(attribute)))
        diff = (pp - gc).abs()
        rows.append([overlay_cam(src, gc), overlay_cam(src, pp), overlay_cam(src, diff)])
        titles.append(f"{layer}\nmean |diff| {diff.mean().item():.3g}")
    return panel_grid(rows, ["Grad-CAM", "Grad-CAM++", "|Grad-CAM++ - Grad-CAM|"], titles, size=2.2,
                      scale="each map min-max scaled to 0-1; the difference of the two scaled maps on the same 0-1",
                      caption="Eq 6-8 without TTA or Eigen, one row per CAM layer.")


#: Size of the flip marker drawn on the TTA views, as a fraction of the image side.
MARKER = 0.18


def flip_marker(images: torch.Tensor) -> torch.Tensor:
    """A copy of ``images`` (N, C, H, W) in [-1, 1] with a red square in the top-left corner, so a
    horizontal flip is visible even on a symmetric face (for drawing only, never for the CAM)."""
    out = images.clone()
    k = max(1, round(MARKER * images.shape[-1]))
    red = torch.tensor([1.0, -1.0, -1.0] * (images.shape[1] // 3), dtype=images.dtype, device=images.device)
    out[:, :, :k, :k] = red[:, None, None]
    return out


def tta_labels() -> list[str]:
    """The names of the 6 views of :func:`paperlib.method.cam.tta_views`, in its order."""
    return [f"{'flipped' if flip else 'not flipped'}, pixels x{f:g}" for flip in (False, True) for f in TTA_FACTORS]


def tta_figure(setup, e: BatchEdit, attribute: str):
    """TTA: the 6 views (no flip / flip x the intensity factors of :data:`paperlib.method.cam.TTA_FACTORS`)
    of T, with a red marker in T's top-left corner so the flip shows, and each view's Grad-CAM++
    map mapped back onto I; the last column is their average (the +TTA map)."""
    c = setup.components
    pair = _pair(setup, e)
    views = tta_views(pair)
    target = torch.tensor([c.class_index(attribute)] * len(views))
    act, grads = activations_and_grads(c.classifier, c.classifier.target_layer, views, target)
    maps = normalize_cam(cam_map(weighted_activations(gradcam_plus_plus_weights(grads, act), act)), pair.shape[-2:])
    n = len(TTA_FACTORS)
    maps[n:] = maps[n:].flip(-1)  # de-augment the flipped views
    size = e.source.shape[-2:]
    maps = F.interpolate(maps[:, None], size=size, mode="nearest")[:, 0]
    imgs = F.interpolate(tta_views(flip_marker(pair))[:, 3:], size=size, mode="area").clamp(-1, 1)
    mean = maps.mean(0)  # what merge_tta_maps gives
    std = maps.std(0)
    spread = std.mean().item()
    fig = panel_grid([list(imgs) + [overlay_cam(e.source[0], std / std.max().clamp(min=1e-8))],
                      [overlay_cam(e.source[0], m) for m in maps] + [overlay_cam(e.source[0], mean)]],
                     [n.replace(", ", ",\n") for n in tta_labels()] + ["std of the maps (top),\ntheir average (below)"],
                     ["view ($T$ half)", "its map, on $I$"],
                     scale=f"maps: Grad-CAM++ of each view, min-max scaled to 0-1, and their average; top right: the std "
                           f"across the 6 maps divided by its max {std.max().item():.3g}",
                     caption="TTA: the red square marks $T$'s top-left corner (flipped views carry it top-right); the "
                             "factors multiply the pixel values in $[-1, 1]$ (contrast about mid-grey, not a zoom). "
                             f"Maps mapped back and averaged; mean std across the 6 maps {spread:.3g}.")
    return fig


def eigen_figure(setup, e: BatchEdit, attribute: str):
    """Eq 9: the plain Grad-CAM++ map vs the first principal component of the weighted activations."""
    c = setup.components
    pair = _pair(setup, e)
    act, grads = activations_and_grads(c.classifier, c.classifier.target_layer, pair,
                                       torch.tensor([c.class_index(attribute)]))
    weighted = weighted_activations(gradcam_plus_plus_weights(grads, act), act)
    size = e.source.shape[-2:]
    plain = F.interpolate(normalize_cam(cam_map(weighted), pair.shape[-2:])[:, None], size=size, mode="nearest")[0, 0]
    pc = first_component_projection(weighted)
    raw_pc = F.interpolate(minmax_normalize(pc)[:, None], size=size, mode="nearest")[0, 0]
    eig = F.interpolate(normalize_cam(pc, pair.shape[-2:])[:, None], size=size, mode="nearest")[0, 0]
    return panel_grid([[overlay_cam(e.source[0], plain), overlay_cam(e.source[0], raw_pc), overlay_cam(e.source[0], eig)]],
                      ["Grad-CAM++ (eq 8)", "PC1 projection", "Eigen map (ReLU, min-max)"],
                      scale="each map min-max scaled to 0-1 (PC1 projection: its signed values min-max scaled)",
                      caption=f"Eq 9 on a {tuple(weighted.shape[-2:])} activation grid: the first principal component "
                              "(PC1) of "
                              "the weighted activations $w_k A^k$ keeps their dominant pattern.")


def parsings(setup, e: BatchEdit, index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The parsing maps of the source (S_org's input) and of the edited image (S_modif's input)."""
    c = setup.components
    with torch.no_grad():
        src = setup.source_parsing([index], e.source) if setup.source_parsing else c.parse(e.source)
        edit = c.exact_parsing(e.edited_latents) if c.exact_parsing is not None else c.parse(e.edited)
    return src, edit


def parsing_figure(setup, e: BatchEdit, attribute: str, index: int = 0):
    """Step 8 and eq 10-11: S_org, S_modif, the CAM, their Hadamard product and the blend."""
    s_org, s_modif = segmentation_masks(*parsings(setup, e, index), attribute)
    src, cam = e.source[0], e.cams["Diff-CAM++"][0]
    allowed = s_org[0] * s_modif[0]
    outside = ((cam * (1 - allowed)).sum() / cam.sum().clamp(min=1e-8)).item()
    with_f, without_f = e.blended["Diff-CAM++"][0], e.blended["+TTA+Eigen"][0]
    d_with, d_without = (with_f - src).abs().mean(0), (without_f - src).abs().mean(0)
    scale = d_without.max()
    return panel_grid([[overlay_cam(src, s_org[0]), overlay_cam(e.edited[0], s_modif[0]), overlay_cam(src, cam),
                        overlay_cam(src, e.masks["Diff-CAM++"][0]), with_f, _heat(with_f, d_with, scale)],
                       [None, None, overlay_cam(src, cam), overlay_cam(src, e.masks["+TTA+Eigen"][0]), without_f,
                        _heat(without_f, d_without, scale)]],
                      ["$S_{org}$", "$S_{modif}$", "CAM (+TTA+Eigen)", "mask $M$", "$F$ (eq 11)", "$|F - I|$"],
                      ["with eq 10", "without eq 10"],
                      scale=f"$S_{{org}}$, $S_{{modif}}$: 1 = an allowed component; CAM and $M$: 0-1; $|F - I|$ (mean over RGB) "
                            "divided "
                            f"by its max without eq 10, {scale.item():.3g}",
                      caption=f"Eq 10-11 for {attribute}: $M = S_{{org}} \\odot S_{{modif}} \\odot$ CAM cuts the map to the allowed "
                              "components; "
                              f"{100 * outside:.0f}% of this CAM's mass lies outside them. Without eq 10 no parsing "
                              "mask is used (n/a).")


#: Threshold of the hard mask that :func:`blend_figure` compares eq 11's soft mask with.
HARD_THRESHOLD = 0.5


def blend_figure(e: BatchEdit, variant: str = "Diff-CAM++"):
    """Eq 11 with the soft mask vs a hard cut-and-paste (M > 0.5): the hard mask leaves a seam
    where T and I meet, the soft mask fades one into the other."""
    src, t, m = e.source[0], e.edited[0], e.masks[variant][0]
    hard = (m > HARD_THRESHOLD).to(m.dtype)
    soft_f, hard_f = e.blended[variant][0], t * hard + src * (1 - hard)
    gap = (hard_f - soft_f).abs().mean(0)
    return panel_grid([[overlay_cam(src, m), soft_f, overlay_cam(src, hard), hard_f, _heat(hard_f, gap)]],
                      ["soft $M$", r"$F = T \odot M + I \odot (1 - M)$", f"hard $M > {HARD_THRESHOLD:g}$",
                       "hard cut-and-paste",
                       "|hard - soft|"],
                      scale=f"soft $M$: 0-1; hard $M$: 0 or 1; |hard - soft| (mean over RGB) divided by its max "
                            f"{gap.max().item():.3g}",
                      caption="Eq 11: the soft mask mixes $T$ and $I$ in proportion to $M$ (a partial edit where "
                              "$0 < M < 1$); "
                              "the hard mask gives the full edit but switches at a line (a seam).")


def deghost_figure(setup, e: BatchEdit):
    """Artifact suppression: the blend F and the deghosted output, with their difference. Where
    the profile has no deghosting network (SynthFace) the two are identical: the figure shows the
    two panels and its caption says so, instead of a blank difference map."""
    f, out = e.blended["Diff-CAM++"][0], e.outputs["Diff-CAM++"][0]
    diff = (out - f).abs().mean(0)
    caption = f"Deghosting ({setup.profile} profile): max |difference| {diff.max().item():.3g}."
    if bool(diff.max() == 0):
        return panel_grid([[f, out]], ["$F$ (eq 11)", "deghosted"],
                          caption=caption + " Deghosting is the identity in this profile (no deghosting network): "
                                            "the two images are the same, so there is no difference map.")
    return panel_grid([[f, out, _heat(f, diff)]], ["$F$ (eq 11)", "deghosted", "|difference|"],
                      scale=f"|difference| (mean over RGB) divided by its max {diff.max().item():.3g}", caption=caption)
