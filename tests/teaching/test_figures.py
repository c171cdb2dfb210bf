"""paperlib.teaching.figures: every heat-map figure has a labelled colour scale, captions are not
smaller than panel titles and are wrapped, "n/a" panels are the size of the image panels, and a
figure shows with alternative text."""

import pytest
import torch

from paperlib.teaching import figures
from paperlib.teaching.figures import COLORBAR_LABEL


def colour_bars(fig):
    """The colour-bar axes of ``fig`` (a matplotlib colorbar drawn into them, with a label)."""
    return [ax for ax in fig.axes if ax.get_label() == COLORBAR_LABEL and hasattr(ax, "_colorbar")]


def image_axes(fig):
    return [ax for ax in fig.axes if ax.get_label() != COLORBAR_LABEL]


def check_text_sizes(fig):
    titles = [ax.title.get_fontsize() for ax in fig.axes if ax.get_title()]
    assert fig.texts and titles
    assert all(t.get_fontsize() >= max(titles) for t in fig.texts)  # captions at least as large as titles
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    for t in fig.texts:  # wrapped: no caption line runs past the figure's edges
        box = t.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, t.get_text()


def check_scale(fig):
    bars = colour_bars(fig)
    assert len(bars) == 1 and bars[0].get_xlabel().strip()
    assert figures.plain_text(bars[0].get_xlabel().replace("\n", " ")) in figures.alt_text(fig)


IMG = torch.zeros(3, 32, 32)


def test_panel_grid_scale_caption_and_na_size():
    long = "a caption long enough to wrap across several lines of the figure " * 6
    fig = figures.panel_grid([[IMG, IMG], [None, IMG]], ["a", "b"], ["r1", "r2"], caption=long, scale="map 0-1")
    check_scale(fig)
    check_text_sizes(fig)
    assert fig.texts[0].get_text().count("\n") >= 2
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    boxes = [ax.get_window_extent() for ax in image_axes(fig)]
    assert max(b.height for b in boxes) - min(b.height for b in boxes) < 1  # n/a as tall as the images
    plain = figures.panel_grid([[IMG]], ["a"])  # existing callers: no scale, no caption
    assert not colour_bars(plain) and len(plain.axes) == 1


def test_figure_shows_with_alt_text():
    fig = figures.panel_grid([[IMG, IMG]], ["first <panel>", "second"], caption='Caption "quoted" & more.',
                             scale="map 0-1")
    html = figures.figure_html(fig)
    assert html.startswith('<img src="data:image/png;base64,')
    assert 'alt="Caption &quot;quoted&quot; &amp; more. Panels: first &lt;panel&gt;; second.' in html
    bundle, metadata = fig._repr_mimebundle_()
    assert 'alt="Caption' in bundle["text/html"] and metadata["image/png"]["alt"].startswith("Caption")
    assert 'alt="mine"' in figures.figure_html(fig, "mine")


def test_show_figure_displays_img_with_alt(monkeypatch):
    import IPython.display

    from paperlib.teaching import notebook as nb

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    nb.show_figure(figures.panel_grid([[IMG]], ["only"], caption="A caption."))
    assert len(shown) == 1 and 'alt="A caption. Panels: only."' in shown[0].data


@pytest.fixture(scope="module")
def faces(small_setup):
    from paperlib.teaching.edits import figure2_faces, figure3_faces

    return figure2_faces(small_setup, [(0, "Beard")]), figure3_faces(small_setup, [(0, "Beard")])


def test_figures_2_and_3_have_a_colour_scale(faces):
    for make, f in zip((figures.figure2, figures.figure3), faces):
        fig, _ = make(f)
        check_scale(fig)
        check_text_sizes(fig)
        assert "mask $M$" in colour_bars(fig)[0].get_xlabel()


def test_mathtext_spans_are_never_wrapped_apart_and_read_plainly_in_alt_text():
    text = "where the mask $M = S_{org} \\odot S_{modif} \\odot$ CAM is on " * 4 + "and $|T - I'|$ is large"
    lines = figures.wrap_to_width(text, 2.0, 9)
    assert len(lines) > 3 and all(line.count("$") % 2 == 0 for line in lines)
    assert " ".join(lines) == text
    assert figures.plain_text("$S_{org} \\odot S_{modif}$ and $|\\Delta|$") == "S_org ⊙ S_modif and |Δ|"
    with pytest.raises(ValueError, match="odd number of \\$"):
        figures.wrap_to_width("a $b", 2.0, 9)
    fig = figures.panel_grid([[IMG]], ["$S_{org}$"], caption=text, scale="mask $M$: 0-1")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # mathtext that does not parse raises here
    assert "$" not in figures.alt_text(fig) and "S_org" in figures.alt_text(fig)
