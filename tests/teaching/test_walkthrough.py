"""paperlib.teaching.walkthrough: the TTA labels and flip marker, and every with/without figure has its panels."""

import numpy as np
import torch

from paperlib.method.cam import TTA_FACTORS, tta_views
from paperlib.teaching.cam_layers import CAM_LAYERS

CLASS = 2


def test_tta_labels_and_flip_marker():
    from paperlib.teaching.walkthrough import flip_marker, tta_labels

    labels = tta_labels()
    assert len(labels) == 2 * len(TTA_FACTORS)
    assert all(f"x{f:g}" in labels[i] and f"x{f:g}" in labels[i + len(TTA_FACTORS)] for i, f in enumerate(TTA_FACTORS))
    assert all(label.startswith("not flipped") for label in labels[:len(TTA_FACTORS)])
    assert all(label.startswith("flipped") for label in labels[len(TTA_FACTORS):])
    pair = torch.zeros(1, 6, 32, 32)
    views = tta_views(flip_marker(pair))
    red = torch.tensor([1.0, -1.0, -1.0])
    k = len(TTA_FACTORS)
    unflipped, flipped = views[TTA_FACTORS.index(1.0)], views[k + TTA_FACTORS.index(1.0)]
    torch.testing.assert_close(unflipped[3:, 0, 0], red)  # T's top-left corner
    torch.testing.assert_close(flipped[3:, 0, -1], red)  # mirrored to the top-right
    assert (flipped[3:, 0, 0] == 0).all() and (pair == 0).all()  # the input is untouched


def _pixels(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).astype(float)


def test_teach_figures_have_their_panels(small_setup):
    from test_figures import check_scale, check_text_sizes, image_axes

    from paperlib.method.pipeline import VARIANTS
    from paperlib.teaching import walkthrough as teach
    from paperlib.teaching.edits import edit_face

    e = edit_face(small_setup, 0, "Beard", tuple(VARIANTS))
    panels = {"steps": (teach.steps_figure(e, "Beard"), 5),
              "features": (teach.differential_features_figure(small_setup, e), 3), "no_mask": (teach.no_mask_figure(e), 6),
              "layers": (teach.gradcam_vs_plusplus_figure(small_setup, e, "Beard"), 3 * len(CAM_LAYERS)),
              "tta": (teach.tta_figure(small_setup, e, "Beard"), 2 * (2 * len(TTA_FACTORS) + 1)),
              "eigen": (teach.eigen_figure(small_setup, e, "Beard"), 3),
              "parsing": (teach.parsing_figure(small_setup, e, "Beard"), 2 * 6),
              "blend": (teach.blend_figure(e), 5), "deghost": (teach.deghost_figure(small_setup, e), 2)}
    for name, (fig, n) in panels.items():
        assert len(image_axes(fig)) == n, name
        assert _pixels(fig).std() > 1, name
        check_text_sizes(fig)
        if name != "deghost":  # every map figure has its labelled colour scale
            check_scale(fig)
        # no blank placeholder panels: only parsing's "without eq 10" row has n/a panels (no parsing masks there)
        assert sum(t.get_text() == "n/a" for ax in fig.axes for t in ax.texts) == (2 if name == "parsing" else 0), name
    # SynthFace does not deghost: the caption says so instead of a blank difference panel
    assert "identity" in panels["deghost"][0].texts[0].get_text()
    fig = panels["parsing"][0]
    _pixels(fig)  # drawn: the axes have their final sizes
    heights = [ax.get_window_extent().height for ax in image_axes(fig)]
    assert max(heights) - min(heights) < 1  # the n/a panels are as tall as the maps beside them


def test_table_html_keeps_numbers_on_one_line():
    from paperlib.teaching.walkthrough import table_html

    out = table_html([{"channel k": 3, "α (eq 6)": -1.234567e-05, "note": None}, {"channel k": 4, "α (eq 6)": 0.5}])
    assert out.count("<tr>") == 3 and "<th>α (eq 6)</th>" in out
    assert '<td style="white-space:nowrap">-1.235e-05</td>' in out  # 4 significant digits, never wrapped
    assert 'overflow-x:auto' in out and out.count("<td") == 6  # a missing value is an empty cell
