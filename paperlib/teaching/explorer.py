"""The widget explorer of the walkthrough: the method on one face with any combination of its
toggles (Grad-CAM / Grad-CAM++, TTA, Eigen, segmentation, the authors' code) at any CAM layer, and
in the paper profile an upload of your own photo through the ``edit`` command's path.

:func:`explorer_image` and :func:`uploaded_photo_image` draw one picture (testable without a front
end); :func:`explorer_controls`, :func:`photo_upload` and :func:`explorer` build the ipywidgets.
"""

from __future__ import annotations

import base64
import html
import dataclasses
import io
import os
from dataclasses import dataclass, field

from ..method.attributes import ATTRIBUTES, TABLE_ATTRIBUTES
from .cam_layers import CAM_LAYERS, AtLayer, cam_layer
from .edits import edit_face
from .figures import MASK_SCALE, mae, overlay_cam, panel_grid, panel_label, stamped

#: What the explorer says next to its Grad-CAM++ toggle.
GRADCAMPP_HELP = ("<b>Grad-CAM++</b> at layer4 (the paper's layer) only rescales each channel's Grad-CAM weight "
                  "by a positive factor and drops channels with a negative gradient: layer4 feeds global average "
                  "pooling, so the gradient is the same at every position of a channel, and the map barely "
                  "changes. To see the toggle matter, turn <b>segmentation</b> off and pick an earlier <b>CAM "
                  "layer</b> (layer3, last block), where the gradient varies in space.")


#: One line beside each control: what it changes in the method, and which equation of the paper
#: (the numbering of ``METHOD.md``).
CONTROL_HELP: dict[str, str] = {
    "attribute": "the attribute direction <i>n</i> of the edit (eq 3) and the classifier's class <i>c</i> of the CAM "
                 "(eq 6&ndash;8); \"(paper)\" marks the four of the paper's tables",
    "alpha": "the edit strength of eq 3, <i>T = G(w + &alpha; n)</i>; the paper uses 20, 0 means no edit",
    "face": "which source photo <i>I</i> of the setup is edited",
    "gradcampp": "Grad-CAM++ channel weights (eq 6&ndash;7) instead of Grad-CAM's averaged gradients",
    "tta": "test-time augmentation (eq 8 averaged over 6 views: flip &times; contrast 0.9, 1.0, 1.1 about mid-grey)",
    "eigen": "Eigen smoothing: the map is the first principal component of the activations (eq 9)",
    "segmentation": "fusion with the face-parsing masks of <i>I</i> and <i>T</i> (eq 10): the map is zeroed outside "
                    "the parts allowed for the attribute",
    "authors_code": "the mask path of the authors' released scripts (their Eigen variant, no eq 10, mouth blend, "
                    "Poisson blending); replaces segmentation",
    "layer": "where the CAM is taken (eq 6&ndash;8); layer4 is the paper's",
}

#: The result's blend, named under the result (eq 11).
BLEND_HELP = "result: the blend <i>F = T &#8857; M + I &#8857; (1 &minus; M)</i> (eq 11), then deghosting"

#: Below this mean |T &minus; I'| (on the [0, 1] scale) the edit is too weak for the CAM to localise it.
WEAK_EDIT = 1e-3

#: The note shown where the edit is too weak to localise (alpha 0 or near it).
WEAK_NOTE = ("<b>No edit to localise.</b> At alpha {alpha:g}, <i>T</i> is (almost) <i>I'</i>: mean |T &minus; I'| = "
             "{diff:.4f}. The CAM of a near-zero difference is still min-max scaled to [0, 1], so the mask shows "
             "amplified noise, not a location. Raise alpha to see where the edit acts.")


def attribute_options() -> list[tuple[str, str]]:
    """The attribute dropdown's ``(label, value)`` pairs: the paper's four (:data:`TABLE_ATTRIBUTES`)
    marked "(paper)"."""
    return [(f"{a} (paper)" if a in TABLE_ATTRIBUTES else a, a) for a in ATTRIBUTES]


@dataclass
class ExplorerResult:
    """One explorer update: the figure, the result's edit kept (``judge``; None where it gives none),
    its MAE against the source, the mean |T &minus; I'| and whether the edit is too weak to localise."""

    figure: object
    kept: float | None
    mae: float
    judge: str
    edit_size: float
    weak: bool
    settings: dict = field(default_factory=dict)

    def summary_html(self) -> str:
        """The lines under the result: edit kept and MAE, and the weak-edit note where it applies."""
        kept = "&mdash;" if self.kept is None else f"{self.kept:.2f}"
        text = (f"<b>edit kept</b> {kept} <span style='color:#666'>({self.judge}; 0 = the source, 1 = the whole "
                f"edit)</span> &middot; <b>MAE</b> {self.mae:.3f} <span style='color:#666'>(result vs source)</span>")
        if self.weak:
            note = WEAK_NOTE.format(alpha=self.settings.get("alpha", 0.0), diff=self.edit_size)
            text += f"<div style='background:#fff8e1;padding:4px 8px;margin-top:4px'>{note}</div>"
        return text


def at_layer(setup, layer: str = "layer4"):
    """``setup`` with its classifier's CAM taken at ``layer`` (one of
    :data:`paperlib.teaching.cam_layers.CAM_LAYERS`); ``"layer4"`` (the paper's) returns ``setup`` itself."""
    net = setup.components.classifier
    chosen = cam_layer(net, layer)
    if layer == "layer4":
        return setup
    return dataclasses.replace(setup, components=dataclasses.replace(setup.components, classifier=AtLayer(net, chosen)))


def explorer_variant(gradcampp: bool = True, tta: bool = True, eigen: bool = True, segmentation: bool = True,
                     authors_code: bool = False) -> tuple:
    """The mask variant (a :func:`paperlib.method.pipeline.variant_config` tuple) of the explorer's toggles.
    ``authors_code``: the mask path of the authors' released scripts (:mod:`paperlib.method.authors`:
    their Eigen variant, off for Old; no eq 10; mouth blend; Poisson blending), which replaces
    ``segmentation``."""
    method = "gradcam++" if gradcampp else "gradcam"
    if authors_code:
        return (method, bool(tta), "authors" if eigen else False, "authors")
    return (method, bool(tta), bool(eigen), bool(segmentation))


def _variant_name(gradcampp, tta, eigen, segmentation, authors_code) -> str:
    return ", ".join(n for n, on in (("Grad-CAM++" if gradcampp else "Grad-CAM", True), ("TTA", tta),
                                     ("Eigen", eigen), ("segmentation", segmentation and not authors_code),
                                     ("authors' code (mouth blend, Poisson)", authors_code)) if on)


def explorer_result(setup, attribute: str = "Beard", alpha: float = 20.0, face: int = 0, gradcampp: bool = True,
                    tta: bool = True, eigen: bool = True, segmentation: bool = True, authors_code: bool = False,
                    layer: str = "layer4") -> ExplorerResult:
    """The explorer's callback: one face, one attribute, any combination of the toggles
    (:func:`explorer_variant`). ``layer``: the CAM layer (:data:`paperlib.teaching.cam_layers.CAM_LAYERS`).
    The figure, the result's edit kept (as :func:`paperlib.teaching.edits.face_kept`, shown judge only)
    and MAE, and whether the edit is too weak to localise (mean |T &minus; I'| below :data:`WEAK_EDIT`)."""
    from ..evaluation.judges import judge_outputs, shown_judge

    settings = {"attribute": attribute, "alpha": alpha, "face": face, "gradcampp": gradcampp, "tta": tta,
                "eigen": eigen, "segmentation": segmentation, "authors_code": authors_code, "layer": layer}
    variant = explorer_variant(gradcampp, tta, eigen, segmentation, authors_code)
    e = edit_face(at_layer(setup, layer), face, attribute, (variant,), alpha=alpha)
    judge = shown_judge(setup)  # the judges use the setup's own classifier: the CAM layer is the mask's choice only
    # face_kept's number for the result, with only the shown judge (the others cost seconds per update)
    kept = (judge_outputs(setup, [face], e, e.edited, {variant: e.outputs[variant]}, attribute, alpha,
                          judges=[judge])[variant][f"kept:{judge}"][0] if alpha else None)
    damage, edit_size = mae(e.outputs[variant], e.source), mae(e.edited, e.reconstruction)
    weak = alpha == 0 or edit_size < WEAK_EDIT
    src = e.source[0]
    name = _variant_name(gradcampp, tta, eigen, segmentation, authors_code)
    fig = panel_grid([[src, e.edited[0], overlay_cam(src, e.masks[variant][0]), e.outputs[variant][0]]],
                     ["$I$", rf"$T$ ({attribute}, $\alpha$ {alpha:g})", "mask $M$" + (" (noise: no edit)" if weak else ""),
                      "result $F$ (eq 11)"], labels=[["", "", "", panel_label(kept, damage)]], scale=MASK_SCALE,
                     caption=stamped(f"{name}; CAM at {layer}", bool(getattr(setup, "random_weights", False))))
    return ExplorerResult(fig, kept, damage, judge, edit_size, weak, settings)


def explorer_image(setup, attribute: str = "Beard", alpha: float = 20.0, face: int = 0, gradcampp: bool = True,
                   tta: bool = True, eigen: bool = True, segmentation: bool = True, authors_code: bool = False,
                   layer: str = "layer4"):
    """The figure of :func:`explorer_result` (I, T, the mask over I, the result with its edit kept and MAE)."""
    return explorer_result(setup, attribute, alpha, face, gradcampp, tta, eigen, segmentation, authors_code,
                           layer).figure


def uploaded_photo_image(setup, content: bytes, name: str = "upload", attribute: str = "Beard", alpha: float = 20.0,
                         gradcampp: bool = True, tta: bool = True, eigen: bool = True, segmentation: bool = True,
                         authors_code: bool = False, layer: str = "layer4", **_ignored):
    """The explorer's upload (paper profile): the photo's bytes through the ``edit`` command's path
    (:func:`paperlib.photo.edit.edit_photo`: align, edit, paste back) with the explorer's settings;
    the before/after figure."""
    from ..infra.images import read_photo
    from ..photo.edit import before_after_figure, edit_photo

    photo = read_photo(bytes(content), source=f"photo: {name}")
    variant = explorer_variant(gradcampp, tta, eigen, segmentation, authors_code)
    faces = edit_photo(at_layer(setup, layer).components, photo, attribute, alpha, variant, source=f"photo: {name}")
    caption = stamped(f"{name}: {len(faces)} face(s); {attribute}, alpha {alpha:g}; "
                      f"{_variant_name(gradcampp, tta, eigen, segmentation, authors_code)}; CAM at {layer}",
                      bool(getattr(setup, "random_weights", False)))
    return before_after_figure(photo, faces, caption)


#: The explorer's controls in order, with the label of their grid row.
CONTROL_LABELS: dict[str, str] = {"attribute": "attribute", "alpha": "alpha", "face": "face",
                                  "gradcampp": "Grad-CAM++", "tta": "TTA", "eigen": "Eigen",
                                  "segmentation": "segmentation", "authors_code": "authors' code",
                                  "layer": "CAM layer"}

#: The help line of the compare toggle.
COMPARE_HELP = ("freeze the current result as <b>A</b>; then change any control and the live result <b>B</b> "
                "shows beside it, on the same face")


def explorer_controls(n_faces: int) -> dict:
    """The explorer's widgets, keyed by :func:`explorer_image`'s argument names: the sliders wide
    enough for their positions, the checkboxes compact (no indent, their own width). Their labels
    are the grid's (:data:`CONTROL_LABELS`), so the widgets carry no description of their own."""
    import ipywidgets as W

    def box(name):
        return W.Checkbox(value=name != "authors_code", description="", indent=False,
                          layout=W.Layout(width="auto", margin="0 14px 0 0"))

    return {
        "attribute": W.Dropdown(options=attribute_options(), value="Beard", layout=W.Layout(width="220px")),
        "alpha": W.FloatSlider(value=20.0, min=0.0, max=30.0, step=2.5, readout_format=".1f",
                               continuous_update=False, layout=W.Layout(width="320px")),
        "face": W.IntSlider(value=0, min=0, max=max(n_faces - 1, 0), continuous_update=False,
                            layout=W.Layout(width="300px")),
        **{name: box(name) for name in ("gradcampp", "tta", "eigen", "segmentation", "authors_code")},
        "layer": W.Dropdown(options=list(CAM_LAYERS), value="layer4", layout=W.Layout(width="220px")),
    }


def control_grid(controls: dict, extra: dict | None = None):
    """The controls in a three-column grid: label, widget, one line of help (:data:`CONTROL_HELP`).
    ``extra``: more ``name -> (label, widget, help)`` rows after them."""
    import ipywidgets as W

    rows = [(CONTROL_LABELS[k], w, CONTROL_HELP[k]) for k, w in controls.items()] + list((extra or {}).values())
    children = [c for label, w, help_text in rows
                for c in (W.HTML(f"<b>{label}</b>"), w,
                          W.HTML(f"<span style='color:#555'>{help_text}</span>"))]
    return W.GridBox(children, layout=W.Layout(grid_template_columns="110px 330px 1fr", grid_gap="0 10px",
                                               align_items="center"))


def photo_upload(setup, controls: dict):
    """The explorer's "your own photo" row (paper profile): a file-upload widget whose photo goes
    through :func:`uploaded_photo_image` with the explorer's current settings; returns the upload
    widget and its output area. A photo without a usable face shows the one-line error."""
    import ipywidgets as W
    from IPython.display import display

    upload = W.FileUpload(accept="image/*", multiple=False, description="your photo")
    out = W.Output()

    def on_upload(_change=None):
        import matplotlib.pyplot as plt

        if not upload.value:
            return
        item = upload.value[0]
        out.clear_output(wait=True)
        try:
            fig = uploaded_photo_image(setup, item["content"], item.get("name", "upload"),
                                       **{k: w.value for k, w in controls.items()})
        except (ValueError, FileNotFoundError) as err:
            out.append_stdout(f"error: {err}\n")
            return
        with out:
            display(fig)
        plt.close(fig)

    upload.observe(on_upload, names="value")
    return upload, out


def _png(fig, name: str) -> bytes:
    """The figure as PNG bytes, with ``name`` ("result", "A (frozen)", "B (live)") above it."""
    title = fig.suptitle(name, x=0.01, y=1.06, ha="left", fontsize=10, weight="bold")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    title.remove()
    return buf.getvalue()


def _settings_title(settings: dict) -> str:
    names = {k: settings[k] for k in ("gradcampp", "tta", "eigen", "segmentation", "authors_code")}
    return (f"{settings['attribute']}, alpha {settings['alpha']:g}, face {settings['face']}; "
            f"{_variant_name(**names)}; CAM at {settings['layer']}")


@dataclass
class ResultPane:
    """One result of the explorer: a title, the picture (an Output widget holding one PNG, set without
    a kernel) and the lines under it (edit kept, MAE, the weak-edit note)."""

    box: object
    title: object
    out: object
    summary: object
    png: bytes = b""

    @classmethod
    def build(cls):
        import ipywidgets as W

        title, out, summary = W.HTML(), W.Output(), W.HTML()
        return cls(W.VBox([title, out, summary], layout=W.Layout(flex="1 1 0", min_width="0")), title, out, summary)

    def show(self, name: str, result: ExplorerResult, png: bytes) -> None:
        self.title.value = f"<b>{name}</b>: {_settings_title(result.settings)}"
        self.png = png
        data = base64.b64encode(png).decode("ascii")
        alt = html.escape(f"The explorer's {name}: {_settings_title(result.settings)}. "
                          "Panels: I, T, the mask M over I, the result F.", quote=True)
        self.out.outputs = ({"output_type": "display_data", "metadata": {},
                             "data": {"text/html": f'<img alt="{alt}" src="data:image/png;base64,{data}">',
                                      "image/png": data, "text/plain": f"<the explorer's {name}>"}},)
        self.summary.value = result.summary_html()


@dataclass
class Explorer:
    """The explorer's widgets: ``box`` (all of it), ``controls`` (:func:`explorer_controls`), ``compare``
    (the toggle), ``a`` (the frozen result, shown in compare mode) and ``b`` (the live one);
    ``results``: every :class:`ExplorerResult` computed, the live one last."""

    box: object
    controls: dict
    compare: object
    a: ResultPane
    b: ResultPane
    results: list = field(default_factory=list)


def build_explorer(setup, n_faces: int | None = None, headless: bool = False) -> Explorer:
    """The explorer's widgets, with the first result computed (:func:`explorer`, without displaying it).
    ``headless``: also display the first figure statically (papermill keeps a picture)."""
    import ipywidgets as W
    import matplotlib.pyplot as plt

    controls = explorer_controls(n_faces or setup.n_images)
    compare = W.ToggleButton(value=False, description="compare: freeze as A", icon="columns",
                             tooltip="freeze the current result as A and show the live one as B",
                             layout=W.Layout(width="220px"))
    a, b = ResultPane.build(), ResultPane.build()
    a.box.layout.display = "none"
    ex = Explorer(W.VBox(), controls, compare, a, b)

    def live_name() -> str:
        return "B (live)" if compare.value else "result"

    def update(_change=None):
        result = explorer_result(setup, **{k: w.value for k, w in controls.items()})
        if headless and _change is None:  # the first image also as a static figure (no front end renders widgets)
            from IPython.display import display
            display(result.figure)
        if ex.results:
            plt.close(ex.results[-1].figure)  # the live figure stays open until replaced (renamed in compare)
        ex.results.append(result)
        b.show(live_name(), result, _png(result.figure, live_name()))

    def on_compare(change):
        live = ex.results[-1]
        if change["new"]:
            a.show("A (frozen)", live, _png(live.figure, "A (frozen)"))
            a.box.layout.display = ""
        else:
            a.box.layout.display = "none"
        b.show(live_name(), live, _png(live.figure, live_name()))

    for w in controls.values():
        w.observe(update, names="value")
    compare.observe(on_compare, names="value")
    update()
    grid = control_grid(controls, {"compare": ("compare", compare, COMPARE_HELP)})
    rows = [grid, W.HTML(f"<span style='color:#555'>{BLEND_HELP}</span>"), W.HBox([a.box, b.box]),
            W.HTML(GRADCAMPP_HELP, layout=W.Layout(max_width="760px"))]
    if getattr(setup, "profile", None) == "paper":
        rows += list(photo_upload(setup, controls))
    ex.box.children = rows
    return ex


def explorer(setup, n_faces: int | None = None):
    """An ipywidgets explorer (attribute, alpha, face, the toggles, the CAM layer) around
    :func:`explorer_result`: each control with one line of help (:data:`CONTROL_HELP`), the result's
    edit kept and MAE under it (and a note where the edit is too weak to localise), a compare toggle
    that freezes the result as A beside the live B, :data:`GRADCAMPP_HELP` below; in the paper
    profile also an upload of your own photo (:func:`photo_upload`).

    Without a front end (papermill, where ``paperlib reproduce`` sets ``PAPERLIB_HEADLESS=1``) the
    widgets are still built and the current image is also shown as a static figure, so the
    executed notebook keeps a picture.
    """
    from IPython.display import display

    ex = build_explorer(setup, n_faces, headless=os.environ.get("PAPERLIB_HEADLESS") == "1")
    display(ex.box)
    return ex.box, ex.controls


__all__ = [
    "BLEND_HELP",
    "COMPARE_HELP",
    "CONTROL_HELP",
    "CONTROL_LABELS",
    "GRADCAMPP_HELP",
    "WEAK_EDIT",
    "WEAK_NOTE",
    "Explorer",
    "ExplorerResult",
    "ResultPane",
    "at_layer",
    "attribute_options",
    "build_explorer",
    "control_grid",
    "explorer",
    "explorer_controls",
    "explorer_image",
    "explorer_result",
    "explorer_variant",
    "photo_upload",
    "uploaded_photo_image",
]
