"""The paper's published numbers (Tables 1-3), exactly as printed (METHOD.md).

``TABLES[metric][attribute][method] = (mean, std)``; std is None where the paper gives none
(FID), and a method absent from a row was not evaluated on that attribute (e4e and ReStyle
only have the Old and Smiling directions).
"""

from __future__ import annotations

METHODS: tuple[str, ...] = ("pSp", "e4e", "ReStyle", "EOGI", "Diff-CAM++")

_NA = None


def _row(*cells):
    return {m: c for m, c in zip(METHODS, cells) if c is not _NA}


TABLES: dict[str, dict[str, dict[str, tuple[float, float | None]]]] = {
    "LPIPS": {  # Table 1
        "Beard": _row((0.433, 0.056), _NA, _NA, (0.329, 0.048), (0.308, 0.049)),
        "Bushy_Eyebrows": _row((0.407, 0.060), _NA, _NA, (0.310, 0.051), (0.296, 0.051)),
        "Old": _row((0.462, 0.054), (0.449, 0.062), (0.437, 0.062), (0.350, 0.046), (0.313, 0.048)),
        "Smiling": _row((0.416, 0.059), (0.435, 0.061), (0.434, 0.061), (0.318, 0.049), (0.298, 0.049)),
    },
    "MAE": {  # Table 2
        "Beard": _row((0.083, 0.016), _NA, _NA, (0.0514, 0.008), (0.0469, 0.007)),
        "Bushy_Eyebrows": _row((0.075, 0.015), _NA, _NA, (0.0468, 0.007), (0.0436, 0.007)),
        "Old": _row((0.108, 0.018), (0.105, 0.021), (0.104, 0.022), (0.0563, 0.009), (0.0473, 0.007)),
        "Smiling": _row((0.076, 0.015), (0.103, 0.019), (0.108, 0.022), (0.0499, 0.008), (0.0449, 0.007)),
    },
    "FID": {  # Table 3
        "Beard": _row((57.88, None), _NA, _NA, (27.68, None), (23.85, None)),
        "Bushy_Eyebrows": _row((39.85, None), _NA, _NA, (20.34, None), (19.28, None)),
        "Old": _row((69.59, None), (57.24, None), (47.04, None), (39.20, None), (27.67, None)),
        "Smiling": _row((42.47, None), (48.23, None), (42.58, None), (22.89, None), (19.78, None)),
    },
}

#: Table number of each metric in the paper.
TABLE_NUMBER: dict[str, int] = {"LPIPS": 1, "MAE": 2, "FID": 3}
