"""paperlib.synth.report: the localization summary rows and their Markdown."""

import pytest



def test_summary_rows_and_markdown():
    from paperlib.synth.report import markdown_table, summary_rows
    scores = {"Diff-CAM": {"iou": [0.2, 0.4, 0.9], "precision": [1.0, 1.0, 1.0], "recall": [0.5, 0.5, 1.0],
                           "region_share": [0.1, 0.1, 0.2], "mass_inside": [0.3, 0.5, 0.2],
                           "mae_outside": [0, 0, 0.3], "mae_inside": [0.1, 0.1, 0.1],
                           "attribute": ["Beard", "Beard", "Old"]}}
    beard, old, both = (summary_rows(scores, a)[0] for a in ("Beard", "Old", None))
    assert beard["n"] == 2 and old["n"] == 1 and both["n"] == 3
    assert beard["iou"] == pytest.approx(0.3) and beard["iou_std"] == pytest.approx(0.1)
    assert both["iou"] == pytest.approx(0.5)
    table = markdown_table([both])
    assert "| Diff-CAM | 3 | 0.500 ± 0.294 |" in table
    from paperlib.synth.report import looking_table
    looking = looking_table([{**beard, "attribute": "Beard"}, {**both, "attribute": "all"}])
    assert "| Beard | 2 | 0.100 | 0.400 ± 0.100 | 4.0 |" in looking and "| all |" not in looking
