"""The widget explorer of the walkthrough: the method on one face with any combination of its
toggles (Grad-CAM / Grad-CAM++, TTA, Eigen, segmentation, the authors' code) at any CAM layer, and
in the paper profile an upload of your own photo through the ``edit`` command's path.

:func:`explorer_image` and :func:`uploaded_photo_image` draw one picture (testable without a front
end); :func:`explorer_controls`, :func:`photo_upload` and :func:`explorer` build the ipywidgets.
"""

from __future__ import annotations

import dataclasses
import os

from ..method.attributes import ATTRIBUTES
from .cam_layers import CAM_LAYERS, AtLayer, cam_layer
from .edits import edit_face
from .figures import overlay_cam, panel_grid, stamped

#: What the explorer says next to its Grad-CAM++ toggle.
GRADCAMPP_HELP = ("<b>Grad-CAM++</b> at layer4 (the paper's layer) only rescales each channel's Grad-CAM weight "
                  "by a positive factor and drops channels with a negative gradient: layer4 feeds global average "
                  "pooling, so the gradient is the same at every position of a channel, and the map barely "
                  "changes. To see the toggle matter, turn <b>segmentation</b> off and pick an earlier <b>CAM "
                  "layer</b> (layer3, last block), where the gradient varies in space.")


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


def explorer_image(setup, attribute: str = "Beard", alpha: float = 20.0, face: int = 0, gradcampp: bool = True,
                   tta: bool = True, eigen: bool = True, segmentation: bool = True, authors_code: bool = False,
                   layer: str = "layer4"):
    """The explorer's callback: one face, one attribute, any combination of the toggles
    (:func:`explorer_variant`). ``layer``: the CAM layer (:data:`paperlib.teaching.cam_layers.CAM_LAYERS`)."""
    setup = at_layer(setup, layer)
    variant = explorer_variant(gradcampp, tta, eigen, segmentation, authors_code)
    e = edit_face(setup, face, attribute, (variant,), alpha=alpha)
    src = e.source[0]
    name = _variant_name(gradcampp, tta, eigen, segmentation, authors_code)
    return panel_grid([[src, e.edited[0], overlay_cam(src, e.masks[variant][0]), e.outputs[variant][0]]],
                      ["I", f"T ({attribute}, alpha {alpha:g})", "mask M", "result"],
                      caption=f"{name}; CAM at {layer}")


def uploaded_photo_image(setup, content: bytes, name: str = "upload", attribute: str = "Beard", alpha: float = 20.0,
                         gradcampp: bool = True, tta: bool = True, eigen: bool = True, segmentation: bool = True,
                         authors_code: bool = False, layer: str = "layer4", **_ignored):
    """The explorer's upload (paper profile): the photo's bytes through the ``edit`` command's path
    (:func:`paperlib.photo.edit.edit_photo`: align, edit, paste back) with the explorer's settings;
    the before/after figure."""
    from ..photo.edit import before_after_figure, edit_photo
    from ..infra.images import read_photo

    photo = read_photo(bytes(content), source=f"photo: {name}")
    variant = explorer_variant(gradcampp, tta, eigen, segmentation, authors_code)
    faces = edit_photo(at_layer(setup, layer).components, photo, attribute, alpha, variant, source=f"photo: {name}")
    caption = stamped(f"{name}: {len(faces)} face(s); {attribute}, alpha {alpha:g}; "
                      f"{_variant_name(gradcampp, tta, eigen, segmentation, authors_code)}; CAM at {layer}",
                      bool(getattr(setup, "random_weights", False)))
    return before_after_figure(photo, faces, caption)


def explorer_controls(n_faces: int) -> dict:
    """The explorer's widgets, keyed by :func:`explorer_image`'s argument names: the sliders wide
    enough for their positions, the checkboxes compact (no indent, their own width)."""
    import ipywidgets as W

    def box(name, label):
        return W.Checkbox(value=name != "authors_code", description=label, indent=False,
                          layout=W.Layout(width="auto", margin="0 14px 0 0"))

    return {
        "attribute": W.Dropdown(options=list(ATTRIBUTES), value="Beard", description="attribute"),
        "alpha": W.FloatSlider(value=20.0, min=0.0, max=30.0, step=2.5, description="alpha", readout_format=".1f",
                               continuous_update=False, layout=W.Layout(width="360px")),
        "face": W.IntSlider(value=0, min=0, max=max(n_faces - 1, 0), description="face", continuous_update=False,
                            layout=W.Layout(width="300px")),
        **{name: box(name, label) for name, label in (("gradcampp", "Grad-CAM++"), ("tta", "TTA"), ("eigen", "Eigen"),
                                                     ("segmentation", "segmentation"),
                                                     ("authors_code", "authors' code"))},
        "layer": W.Dropdown(options=list(CAM_LAYERS), value="layer4", description="CAM layer",
                            layout=W.Layout(width="320px")),
    }


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


def explorer(setup, n_faces: int | None = None):
    """An ipywidgets explorer (attribute, alpha, face, the toggles, the CAM layer) around
    :func:`explorer_image`, with :data:`GRADCAMPP_HELP` beside the toggles; in the paper profile
    also an upload of your own photo (:func:`photo_upload`).

    Without a front end (papermill, where ``paperlib reproduce`` sets ``PAPERLIB_HEADLESS=1``) the
    widgets are still built and the current image is also shown as a static figure, so the
    executed notebook keeps a picture.
    """
    import ipywidgets as W
    from IPython.display import display

    controls = explorer_controls(n_faces or setup.n_images)
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
    toggles = [controls[k] for k in ("gradcampp", "tta", "eigen", "segmentation", "authors_code")]
    help_text = W.HTML(GRADCAMPP_HELP, layout=W.Layout(max_width="640px"))
    rows = [W.HBox([controls["attribute"], controls["alpha"], controls["face"]]),
            W.HBox(toggles, layout=W.Layout(width="auto")), W.HBox([controls["layer"], help_text]), out]
    if getattr(setup, "profile", None) == "paper":
        rows += list(photo_upload(setup, controls))
    box = W.VBox(rows)
    display(box)
    return box, controls


__all__ = ["GRADCAMPP_HELP", "at_layer", "explorer_variant", "explorer_image", "uploaded_photo_image",
           "explorer_controls", "photo_upload", "explorer"]
