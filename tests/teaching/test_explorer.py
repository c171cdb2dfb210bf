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
