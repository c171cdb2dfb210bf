"""Accuracy of :mod:`paperlib.photo.align` on a folder of already-aligned 1024² faces (e.g. CelebA-HQ):
``python -m paperlib.photo.align_report FOLDER`` prints one row per photo.

- **re-alignment**: an aligned face re-aligned should give the identity; the matrix's scale error,
  rotation (degrees), translation of the centre (px) and the largest displacement of the square's
  four corners (px, the one number that bounds the crop's error everywhere);
- **paste-back**: the aligned face pasted back unedited with a full mask, against the photo: max and
  mean absolute error (8-bit levels) where the feathered mask is 1 (resampling there and back), and
  the count of changed pixels where it is 0 (must be 0);
- **moved**: the photo rotated, scaled and placed off-centre on a larger canvas, aligned again, and its
  crop compared with the original's: the largest corner displacement (in original photo px) and the
  mean absolute difference of the two aligned images (8-bit levels).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .align import AlignedFace, align_photo, paste_back, warped_mask
from ..infra.images import read_photo
from ..infra.markdown import table, table_row

_CORNERS = np.array([[-0.5, -0.5, 1.0], [1.0, -0.5, 1.0], [-0.5, 1.0, 1.0], [1.0, 1.0, 1.0]]).T


def corners(size: int) -> np.ndarray:
    """The outer corners of the ``size``² square, homogeneous ``(3, 4)`` (pixel centres at integers)."""
    c = _CORNERS.copy()
    c[:2][c[:2] == 1.0] = size - 0.5
    return c


def identity_error(matrix: np.ndarray, size: int = 1024) -> dict:
    """How far a 3x3 aligned->photo similarity is from the identity."""
    m = np.asarray(matrix, dtype=np.float64)
    centre = np.array([(size - 1) / 2, (size - 1) / 2, 1.0])
    c = corners(size)
    return {"scale_error": float(np.hypot(m[0, 0], m[1, 0]) - 1),
            "rotation_deg": float(np.degrees(np.arctan2(m[1, 0], m[0, 0]))),
            "translation_px": float(np.hypot(*((m @ centre) - centre)[:2])),
            "corner_px": float(np.hypot(*((m @ c) - c)[:2]).max())}


def paste_back_error(rgb: np.ndarray, face: AlignedFace, feather: float = 8.0) -> dict:
    """The unedited face pasted back with a full mask: error where the feathered mask is 1, changed
    pixels where it is 0."""
    full = np.ones((face.size, face.size), np.float32)
    out = paste_back(rgb, face.image, face, full, feather=feather)
    (x0, y0, x1, y1), alpha = warped_mask(face, full, feather)
    weight = np.zeros(rgb.shape[:2], np.float32)
    weight[y0:y1, x0:x1] = alpha
    diff = np.abs(out.astype(np.int16) - rgb.astype(np.int16))
    inside = weight >= 1 - 1e-6
    return {"paste_max": int(diff[inside].max()), "paste_mean": float(diff[inside].mean()),
            "paste_changed_outside": int((diff[weight == 0] > 0).sum())}


def embed(rgb: np.ndarray, *, angle: float = 17.0, scale: float = 0.7, offset=(500, 260),
          canvas=(1500, 1900)) -> tuple[np.ndarray, np.ndarray]:
    """``rgb`` rotated by ``angle`` degrees, scaled, placed at ``offset`` (x, y of its centre's shift
    from the canvas centre) on a grey ``canvas`` (H, W). Returns the canvas and the 3x3 photo->canvas map."""
    import cv2

    h, w = rgb.shape[:2]
    g = np.eye(3)
    g[:2] = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    g[:2, 2] += np.array([(canvas[1] - w) / 2 + offset[0], (canvas[0] - h) / 2 + offset[1]])
    out = cv2.warpAffine(rgb, g[:2], (canvas[1], canvas[0]), flags=cv2.INTER_CUBIC, borderValue=(128, 128, 128))
    return out, g


def moved_error(rgb: np.ndarray, face: AlignedFace, **embed_options) -> dict:
    """Align ``rgb`` embedded by :func:`embed` and compare with ``face`` (the original's alignment)."""
    canvas, g = embed(rgb, **embed_options)
    moved = align_photo(canvas, size=face.size, source="moved")[0]
    back = np.linalg.inv(g) @ moved.matrix  # the moved crop in original photo coordinates
    c = corners(face.size)
    return {"moved_corner_px": float(np.hypot(*((back @ c) - (face.matrix @ c))[:2]).max()),
            "moved_image_mae": float(np.abs(moved.image.astype(np.int16) - face.image.astype(np.int16)).mean())}


def photo_report(path, moved: bool = True) -> dict:
    """Every measurement above for one photo (its largest face)."""
    import time

    rgb = read_photo(path)
    start = time.perf_counter()
    faces = align_photo(rgb, source=str(path))
    seconds = time.perf_counter() - start
    face = faces[0]
    row = {"photo": Path(path).name, "detector": face.detector, "align_s": seconds, "faces": len(faces),
           "landmarks": len(face.landmarks), "eye_px": face.eye_distance, **identity_error(face.matrix, face.size),
           **paste_back_error(rgb, face)}
    return {**row, **moved_error(rgb, face)} if moved else row


def alignment_report(folder, moved: bool = True, progress: bool = True) -> list[dict]:
    """:func:`photo_report` for every image of ``folder`` (sorted by name, numbers numerically)."""
    from tqdm.auto import tqdm

    paths = sorted((p for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png")),
                   key=lambda p: (len(p.stem), p.stem))
    return [photo_report(p, moved) for p in tqdm(paths, desc="align report", disable=not progress)]


def format_report(rows: list[dict]) -> str:
    """A markdown table of :func:`alignment_report`'s rows, with the maxima."""
    cols = [("photo", "{}"), ("detector", "{}"), ("align_s", "{:.1f}"), ("landmarks", "{}"), ("eye_px", "{:.0f}"),
            ("scale_error", "{:+.3f}"), ("rotation_deg", "{:+.2f}"), ("translation_px", "{:.1f}"),
            ("corner_px", "{:.1f}"), ("paste_max", "{}"), ("paste_mean", "{:.2f}"),
            ("paste_changed_outside", "{}"), ("moved_corner_px", "{:.1f}"), ("moved_image_mae", "{:.1f}")]
    cols = [(k, f) for k, f in cols if rows and k in rows[0]]
    lines = table([k for k, _ in cols], ([f.format(r[k]) for k, f in cols] for r in rows))
    worst = {k: max(abs(r[k]) for r in rows) for k, f in cols if k not in ("photo", "detector")}
    lines.append(table_row(["max", "", *(f.format(worst[k]) for k, f in cols[2:])]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Print :func:`format_report` for the folder given on the command line."""
    args = sys.argv[1:] if argv is None else argv
    print(format_report(alignment_report(args[0] if args else "../shared/data/sample_faces")))


if __name__ == "__main__":
    main()
