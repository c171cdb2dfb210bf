"""The seven attribute directions of EOGI and the paper, with their indices and masks.

Names are EOGI's direction file names. ``CLASS_INDEX`` is the index of each attribute in a
7-way classifier trained on the 7 released directions (alphabetical order of the file names,
as EOGI's trainer lists them). ``EOGI17_INDEX`` is the index in the 17-class classifier of the
released ``diff_cam_weight.pt``.
"""

from __future__ import annotations

ATTRIBUTES: tuple[str, ...] = (
    "Beard",
    "Bushy_Eyebrows",
    "Eyeglasses",
    "Mouth_Open",
    "Narrow_Eyes",
    "Old",
    "Smiling",
)

#: Index of each attribute in a 7-way classifier (alphabetical order).
CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(sorted(ATTRIBUTES))}

#: Index of each attribute in EOGI's released 17-class ``diff_cam_weight.pt``.
EOGI17_INDEX: dict[str, int] = {
    "Bushy_Eyebrows": 6,
    "Eyeglasses": 7,
    "Mouth_Open": 10,
    "Narrow_Eyes": 11,
    "Beard": 12,
    "Smiling": 15,
    "Old": 16,
}

#: The four attributes evaluated in Tables 1-3 (in the tables' row order).
TABLE_ATTRIBUTES: tuple[str, ...] = ("Beard", "Bushy_Eyebrows", "Old", "Smiling")

#: Attributes with InterFaceGAN directions, the only ones e4e and ReStyle are compared on.
INTERFACEGAN_ATTRIBUTES: dict[str, str] = {"Old": "age", "Smiling": "smile"}


def check_attribute(name: str) -> str:
    """Return ``name`` if it is one of :data:`ATTRIBUTES`, else raise a one-line ValueError."""
    if name not in ATTRIBUTES:
        raise ValueError(
            f"attribute: unknown attribute {name!r}; expected one of {', '.join(ATTRIBUTES)}"
        )
    return name


def class_index(name: str, n_classes: int = 7) -> int:
    """Classifier index of attribute ``name`` for a 7-way (ours) or 17-way (EOGI's) classifier."""
    check_attribute(name)
    if n_classes == 7:
        return CLASS_INDEX[name]
    if n_classes == 17:
        return EOGI17_INDEX[name]
    raise ValueError(f"n_classes: expected 7 (ours) or 17 (EOGI's released weights), got {n_classes}")
