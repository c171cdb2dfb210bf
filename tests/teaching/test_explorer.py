"""paperlib.teaching.explorer: compact controls, and the CAM-layer choice changes the mask."""

import numpy as np
import pytest

from paperlib.teaching.cam_layers import CAM_LAYERS

CLASS = 2


def test_explorer_controls_are_compact_and_wide_enough():
    from paperlib.teaching.explorer import explorer_controls

    c = explorer_controls(4)
    assert int(c["alpha"].layout.width.rstrip("px")) >= 300 and c["alpha"].readout
    assert all(not c[k].indent and c[k].layout.width == "auto"
               for k in ("gradcampp", "tta", "eigen", "segmentation", "authors_code"))
    assert list(c["layer"].options) == list(CAM_LAYERS) and c["face"].max == 3


def _pixels(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).astype(float)


def test_explorer_layer_choice_changes_the_mask(small_setup):
    from paperlib.teaching.explorer import explorer_image

    images = {layer: _pixels(explorer_image(small_setup, "Smiling", 20.0, 0, layer=layer)) for layer in CAM_LAYERS}
    assert not np.array_equal(images["layer4"], images["layer3, last block"])
    assert not np.array_equal(images["layer4"], images["layer4, block before last"])
    with pytest.raises(ValueError, match="layer: unknown CAM layer"):
        explorer_image(small_setup, "Smiling", layer="fc")


# ------------------------------------------------------------------ the explorer explains itself
def _grid_help(ex):
    """The grid's rows as (label HTML, widget, help HTML)."""
    import ipywidgets as W

    grid = next(c for c in ex.box.children if isinstance(c, W.GridBox))
    k = grid.children
    return [(k[i], k[i + 1], k[i + 2]) for i in range(0, len(k), 3)]


@pytest.fixture(scope="module")
def built(small_setup):
    from paperlib.teaching.explorer import build_explorer

    return build_explorer(small_setup)


def test_explorer_has_help_beside_every_control(built):
    from paperlib.teaching.explorer import CONTROL_HELP

    rows = _grid_help(built)
    widgets = [w for _, w, _ in rows]
    assert all(any(w is c for w in widgets) for c in built.controls.values())
    assert any(w is built.compare for w in widgets)
    assert all(label.value and len(help_text.value) > 40 for label, _, help_text in rows)
    assert set(CONTROL_HELP) == set(built.controls)
    by_name = {name: help_text.value for (name, _), (_, _, help_text) in zip(built.controls.items(), rows)}
    for name, eq in (("gradcampp", "eq 6"), ("tta", "eq 8"), ("eigen", "eq 9"), ("segmentation", "eq 10"),
                     ("alpha", "eq 3")):
        assert eq in by_name[name], name
    assert "authors" in by_name["authors_code"]


def test_explorer_marks_the_paper_attributes(built):
    from paperlib.method.attributes import TABLE_ATTRIBUTES

    options = dict(built.controls["attribute"].options)
    assert {label for label in options if label.endswith("(paper)")} == {f"{a} (paper)" for a in TABLE_ATTRIBUTES}
    assert options["Old (paper)"] == "Old" and built.controls["attribute"].value == "Beard"


def test_explorer_shows_edit_kept_mae_and_the_weak_edit_note(built):
    c = built.controls
    c["alpha"].value = 20.0
    c["attribute"].value = "Smiling"
    text = built.b.summary.value
    assert "edit kept" in text and "MAE" in text and "No edit to localise" not in text
    assert built.b.png[:4] == b"\x89PNG" and "image/png" in built.b.out.outputs[0]["data"]
    result = built.results[-1]
    assert result.kept is not None and result.mae > 0 and not result.weak
    c["alpha"].value = 0.0
    assert "No edit to localise" in built.b.summary.value and "noise" in built.b.summary.value
    assert built.results[-1].weak and built.results[-1].kept is None
    c["alpha"].value = 20.0
    assert "No edit to localise" not in built.b.summary.value


def test_explorer_compare_shows_two_results(built):
    c = built.controls
    c["alpha"].value = 20.0
    assert built.a.box.layout.display == "none"
    built.compare.value = True
    assert built.a.box.layout.display != "none" and built.a.png[:4] == b"\x89PNG"
    assert built.a.png != built.b.png  # named A and B in the picture: the live one changes when frozen
    c["eigen"].value = not c["eigen"].value
    assert "A (frozen)" in built.a.title.value and "B (live)" in built.b.title.value
    assert built.a.title.value.split(":", 1)[1] != built.b.title.value.split(":", 1)[1]
    assert built.a.png != built.b.png and "MAE" in built.a.summary.value and "MAE" in built.b.summary.value
    built.compare.value = False
    assert built.a.box.layout.display == "none"
    c["eigen"].value = True
