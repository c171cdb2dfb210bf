"""The teaching walkthrough: the method step by step on one face, and a widget explorer.

Each function takes an evaluation :class:`paperlib.profiles.Setup` (either profile) and returns
a figure or a small table, so the notebook stays a sequence of one-line calls.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from .attributes import ATTRIBUTES
from .cam import (activations_and_grads, first_component_projection, gradcam_plus_plus_alpha,
                  gradcam_plus_plus_weights, gradcam_weights, minmax_normalize, tta_views, weighted_activations,
                  cam_map, normalize_cam)
from .figures import edit_face, overlay_cam, panel_grid
from .masks import segmentation_masks
from .pipeline import BatchEdit, classifier_input


def steps_figure(e: BatchEdit, attribute: str):
    """Inversion and edit: I, I' = G(E(I)), T = G(w + alpha n), and where I' and T differ."""
    diff = (e.edited - e.reconstruction).abs().mean(1)[0]
    return panel_grid([[e.source[0], e.reconstruction[0], e.edited[0], overlay_cam(e.edited[0], diff / diff.max().clamp(min=1e-8))]],
                      ["I (source)", "I' = G(E(I))", f"T ({attribute})", "|T - I'|"],
                      caption="Eq 1-3: the inversion misses what the generator cannot draw; the edit moves w.")


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
                      ["I", "mean Delta (signed)", "mean |Delta|"],
                      caption=f"Eq 4: differential features, {tuple(delta.shape[1:])} per image.")


def alpha_table(setup, e: BatchEdit, attribute: str, n: int = 5) -> list[dict[str, float]]:
    """Eq 6-7 on real numbers, for the ``n`` channels with the largest Grad-CAM++ weight: the
    gradient g at the first position, g^2, g^3, sum_ab A, alpha (eq 6), the Grad-CAM++ weight
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
        rows.append({"channel": k, "g": g[0].item(), "g^2": (g[0] ** 2).item(), "g^3": (g[0] ** 3).item(),
                     "g constant over positions": bool((g == g[0]).all()), "sum_ab A": act[0, k].sum().item(),
                     "alpha (eq 6)": alpha[k].flatten()[0].item(), "w_k Grad-CAM++ (eq 7)": w_pp[k].item(),
                     "w_k Grad-CAM": w_g[k].item()})
    return rows


def markdown(rows: list[dict]) -> str:
    """A list of dicts as a Markdown table (numbers with 4 significant digits)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))  # noqa: E731
    return "\n".join(["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
                     + ["| " + " | ".join(fmt(r.get(k)) for k in keys) + " |" for r in rows])


def tta_figure(setup, e: BatchEdit, attribute: str):
    """TTA: the 6 views (flip x 0.9, 1.0, 1.1) of T and each view's Grad-CAM++ map, mapped back."""
    c = setup.components
    pair = _pair(setup, e)
    views = tta_views(pair)
    target = torch.tensor([c.class_index(attribute)] * len(views))
    act, grads = activations_and_grads(c.classifier, c.classifier.target_layer, views, target)
    maps = normalize_cam(cam_map(weighted_activations(gradcam_plus_plus_weights(grads, act), act)), pair.shape[-2:])
    maps[3:] = maps[3:].flip(-1)  # de-augment the flipped views
    size = e.source.shape[-2:]
    maps = F.interpolate(maps[:, None], size=size, mode="nearest")[:, 0]
    imgs = F.interpolate(views[:, 3:], size=size, mode="area").clamp(-1, 1)
    names = [f"{'flip ' if i >= 3 else ''}x{f}" for i, f in enumerate((0.9, 1.0, 1.1) * 2)]
    return panel_grid([list(imgs), [overlay_cam(e.source[0], m) for m in maps]], names, ["view (T half)", "its map"],
                      caption="TTA: the average of the 6 de-augmented maps is the +TTA map.")


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
                      caption=f"Eq 9 on a {tuple(weighted.shape[-2:])} activation grid: PC1 keeps the dominant pattern.")


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
    src = e.source[0]
    return panel_grid([[overlay_cam(src, s_org[0]), overlay_cam(e.edited[0], s_modif[0]),
                        overlay_cam(src, e.cams["Diff-CAM++"][0]), overlay_cam(src, e.masks["Diff-CAM++"][0]),
                        e.blended["Diff-CAM++"][0]]],
                      ["S_org", "S_modif", "CAM (+TTA+Eigen)", "M = S_org S_modif CAM", "F (eq 11)"],
                      caption=f"Eq 10-11 for {attribute}: the parsing masks cut the map to the allowed components.")


def deghost_figure(setup, e: BatchEdit):
    """Artifact suppression: the blend F and the deghosted output, with their difference."""
    f, out = e.blended["Diff-CAM++"][0], e.outputs["Diff-CAM++"][0]
    diff = (out - f).abs().mean(0)
    return panel_grid([[f, out, overlay_cam(f, diff / diff.max().clamp(min=1e-8))]],
                      ["F (eq 11)", "deghosted", "|difference|"],
                      caption=f"Deghosting ({setup.profile} profile; the identity in SynthFace, "
                              f"max |difference| {diff.max().item():.3g}).")


def explorer_image(setup, attribute: str = "Beard", alpha: float = 20.0, face: int = 0, gradcampp: bool = True,
                   tta: bool = True, eigen: bool = True, segmentation: bool = True, authors_code: bool = False):
    """The explorer's callback: one face, one attribute, any combination of the toggles.
    ``authors_code``: the mask path of the authors' released scripts (:mod:`paperlib.authors`:
    their Eigen variant, off for Old; no eq 10; mouth blend; Poisson blending), which replaces
    ``segmentation``."""
    method = "gradcam++" if gradcampp else "gradcam"
    if authors_code:
        variant = (method, bool(tta), "authors" if eigen else False, "authors")
    else:
        variant = (method, bool(tta), bool(eigen), bool(segmentation))
    e = edit_face(setup, face, attribute, (variant,), alpha=alpha)
    src = e.source[0]
    name = " + ".join(n for n, on in (("Grad-CAM++" if gradcampp else "Grad-CAM", True), ("TTA", tta),
                                    ("Eigen", eigen), ("segmentation", segmentation and not authors_code),
                                    ("authors' code (mouth blend, Poisson)", authors_code)) if on)
    return panel_grid([[src, e.edited[0], overlay_cam(src, e.masks[variant][0]), e.outputs[variant][0]]],
                      ["I", f"T ({attribute}, alpha {alpha:g})", "mask M", "result"], caption=name)


def explorer(setup, n_faces: int | None = None):
    """An ipywidgets explorer (attribute, alpha, face, four toggles) around :func:`explorer_image`.

    Without a front end (papermill, where ``paperlib reproduce`` sets ``PAPERLIB_HEADLESS=1``) the
    widgets are still built and the current image is also shown as a static figure, so the
    executed notebook keeps a picture.
    """
    import ipywidgets as W
    from IPython.display import display

    n_faces = n_faces or setup.n_images
    controls = {
        "attribute": W.Dropdown(options=list(ATTRIBUTES), value="Beard", description="attribute"),
        "alpha": W.FloatSlider(value=20.0, min=0.0, max=30.0, step=2.5, description="alpha"),
        "face": W.IntSlider(value=0, min=0, max=max(n_faces - 1, 0), description="face"),
        "gradcampp": W.Checkbox(value=True, description="Grad-CAM++"),
        "tta": W.Checkbox(value=True, description="TTA"),
        "eigen": W.Checkbox(value=True, description="Eigen"),
        "segmentation": W.Checkbox(value=True, description="segmentation"),
        "authors_code": W.Checkbox(value=False, description="authors' code"),
    }
    out = W.Output()
    headless = os.environ.get("PAPERLIB_HEADLESS") == "1"  # papermill: no front end renders the widgets

    def update(_change=None):
        import matplotlib.pyplot as plt
        fig = explorer_image(setup, **{k: w.value for k, w in controls.items()})
        out.clear_output(wait=True)
        with out:
            display(fig)
        if headless and _change is None:  # the first image also as a static figure, without computing it twice
            display(fig)
        plt.close(fig)

    for w in controls.values():
        w.observe(update, names="value")
    update()
    box = W.VBox([W.HBox(list(controls.values())[:3]), W.HBox(list(controls.values())[3:]), out])
    display(box)
    return box, controls
