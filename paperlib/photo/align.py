"""FFHQ alignment of arbitrary photos (what pSp, e4e and ReStyle expect) and pasting an edit back.

1. Faces are found with dlib: its HOG detector (upsample 1) on a copy whose long side is at most
   :data:`DETECT_SIDE`, else, when HOG finds none, its CNN (MMOD) detector on a copy whose long side
   is 512; boxes are mapped back to the photo. 68 landmarks come from dlib's
   ``shape_predictor_68_face_landmarks.dat`` (the file pSp's alignment uses) on the full photo.
2. The FFHQ quad: eye centres (means of points 36-41 and 42-47), mouth corners 48 and 54,
   ``x = eye_to_eye - flipud(eye_to_mouth) * [-1, 1]`` normalised and scaled to
   ``max(2.0 |eye_to_eye|, 1.8 |eye_to_mouth|)``, ``y = flipud(x) * [-1, 1]``,
   ``c = eye_avg + 0.1 eye_to_mouth``, corners ``c-x-y, c-x+y, c+x+y, c+x-y`` (top-left,
   bottom-left, bottom-right, top-right).
3. The crop is the similarity that maps the ``size`` x ``size`` square onto that quad. Pixel
   centres are at integer coordinates (pixel ``(row i, col j)`` is the point ``(x=j, y=i)``); the
   square's outer corners ``(-0.5, -0.5)`` and ``(size-0.5, size-0.5)`` land on the quad's corners,
   as in FFHQ's ``PIL`` QUAD transform of ``quad + 0.5``. Outside the photo the image is reflected
   (FFHQ's ``np.pad(..., 'reflect')``; FFHQ also blurs the padding, which is not done here). When
   the face is shrunk by 2x or more, the photo is first box-averaged by the integer factor (as FFHQ
   shrinks first), then resampled bicubically.
4. :func:`paste_back` warps an edited aligned face back through the inverse transform, blended with
   the (feathered) edit mask only: every photo pixel the warped mask leaves at 0 is untouched. When
   the face is 2x or more smaller in the photo than the square, the edit is box-averaged first.

Every dlib model is loaded once per process; dlib and OpenCV are imported only when used.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..infra.images import MAX_PIXELS, read_photo

#: HOG runs on a copy whose long side is at most this (bounds its cost on big photos; upsample 1
#: then finds faces whose box is about 40 px at this scale).
DETECT_SIDE = 1024
#: The CNN detector's input long side (the fallback when HOG finds no face).
CNN_SIDE = 512
#: Smallest eye-to-eye distance (photo pixels) accepted. The aligned square is about 4 eye distances
#: wide, so at 32 px the 1024² face is upscaled about 8x and even the encoders' 256² input about 2x:
#: past that the encoders see interpolation blur, not a face. The crop itself stays stable further
#: down (sample faces 1, 6 and 10 shrunk: its corners move at most 8.4 px of 1024 at 32 px between
#: the eyes, 13.1 px at 24, 15.7 px at 18), so this is a quality floor, not a detector limit.
MIN_EYE_DISTANCE = 32.0

_PIP = "pip install dlib-bin face-recognition-models"


@functools.lru_cache(maxsize=None)
def _dlib():
    try:
        import dlib
    except ImportError:
        raise FileNotFoundError(f"align: dlib is not installed; {_PIP}") from None
    return dlib


def model_file(name: str, user: str = "align") -> Path:
    """A model file of the ``face-recognition-models`` package, found without importing it (its
    ``__init__`` needs ``pkg_resources``); ``user`` starts the one-line error when it is missing."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"{user}: the face-recognition-models package is not installed; {_PIP}")
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / name
    if not path.is_file():
        raise FileNotFoundError(f"{user}: {path} is missing; reinstall with {_PIP} --force-reinstall")
    return path


@functools.lru_cache(maxsize=None)
def _models(which: str):
    """dlib's HOG detector, CNN detector or 68-point predictor, loaded once per process."""
    dlib = _dlib()
    if which == "hog":
        return dlib.get_frontal_face_detector()
    if which == "cnn":
        return dlib.cnn_face_detection_model_v1(str(model_file("mmod_human_face_detector.dat")))
    return dlib.shape_predictor(str(model_file("shape_predictor_68_face_landmarks.dat")))


def _resized(rgb: np.ndarray, side: int) -> tuple[np.ndarray, float]:
    """``rgb`` resized so its long side is ``side`` (area-averaged when shrinking), and the factor."""
    import cv2

    scale = side / max(rgb.shape[:2])
    if scale == 1.0:
        return rgb, 1.0
    h, w = (max(1, round(n * scale)) for n in rgb.shape[:2])
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(rgb, (w, h), interpolation=interp)), scale


def detect_faces(rgb: np.ndarray) -> tuple[list[tuple[float, float, float, float]], str]:
    """Face boxes ``(left, top, right, bottom)`` in photo pixels, largest first, and the detector
    that found them (``"hog"``, ``"cnn"``, or ``""`` when neither found one)."""
    small, scale = _resized(rgb, DETECT_SIDE) if max(rgb.shape[:2]) > DETECT_SIDE else (rgb, 1.0)
    rects, detector = list(_models("hog")(small, 1)), "hog"
    if not rects:
        small, scale = _resized(rgb, CNN_SIDE)
        rects, detector = [d.rect for d in _models("cnn")(small, 0)], "cnn"
    boxes = [tuple(v / scale for v in (r.left(), r.top(), r.right(), r.bottom())) for r in rects]
    boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    return boxes, detector if boxes else ""


def face_shape(rgb: np.ndarray, box):
    """dlib's 68-point ``full_object_detection`` of the face in ``box`` (photo pixels) of ``rgb``."""
    rect = _dlib().rectangle(*(int(round(v)) for v in box))
    return _models("shape")(rgb, rect)


def landmarks68(rgb: np.ndarray, box) -> np.ndarray:
    """dlib's 68 landmarks ``(68, 2)`` (x, y) of the face in ``box`` (photo pixels)."""
    return np.array([(p.x, p.y) for p in face_shape(rgb, box).parts()], dtype=np.float64)


def ffhq_quad(landmarks: np.ndarray) -> np.ndarray:
    """FFHQ's oriented crop ``(4, 2)`` from 68 landmarks: top-left, bottom-left, bottom-right, top-right."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_left, eye_right = lm[36:42].mean(axis=0), lm[42:48].mean(axis=0)
    eye_avg, eye_to_eye = (eye_left + eye_right) / 2, eye_right - eye_left
    eye_to_mouth = (lm[48] + lm[54]) / 2 - eye_avg
    x = eye_to_eye - np.flipud(eye_to_mouth) * [-1, 1]
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8) / np.hypot(*x)
    y = np.flipud(x) * [-1, 1]
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y])


def quad_matrix(quad: np.ndarray, size: int) -> np.ndarray:
    """The 3x3 similarity mapping aligned pixel coordinates (x, y) to photo pixel coordinates
    (pixel centres at integers), sending the square's outer corners onto ``quad``."""
    q0, ex, ey = quad[0], (quad[3] - quad[0]) / size, (quad[1] - quad[0]) / size
    m = np.eye(3)
    m[:2, 0], m[:2, 1], m[:2, 2] = ex, ey, q0 + 0.5 * (ex + ey)
    return m


def warp_to_square(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Resample ``rgb`` into the ``size``² square through ``matrix`` (aligned -> photo): bicubic,
    reflected outside the photo, box-averaged first by the integer shrink factor when >= 2."""
    import cv2

    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))  # photo pixels per aligned pixel
    k = int(scale)
    if k >= 2:
        corners = matrix[:2, :2] @ np.array([[-1, -1, size, size], [-1, size, -1, size]]) + matrix[:2, 2:]
        x0, y0 = (max(0, int(v) - 4 * k) for v in corners.min(axis=1))
        x1, y1 = (min(n, int(v) + 4 * k + 1) for v, n in zip(corners.max(axis=1), rgb.shape[1::-1]))
        x1, y1 = x0 + (x1 - x0) // k * k, y0 + (y1 - y0) // k * k  # whole blocks of k x k
    if k >= 2 and x1 > x0 and y1 > y0:  # (no block: the square is almost all outside the photo)
        crop = rgb[y0:y1, x0:x1]
        small = cv2.resize(crop, (crop.shape[1] // k, crop.shape[0] // k), interpolation=cv2.INTER_AREA)
        to_photo = np.array([[k, 0, x0 + (k - 1) / 2], [0, k, y0 + (k - 1) / 2], [0, 0, 1]])
        rgb, matrix = small, np.linalg.inv(to_photo) @ matrix
    return cv2.warpAffine(rgb, matrix[:2], (size, size), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT_101)


@dataclass
class AlignedFace:
    """One aligned face. ``matrix`` (3x3, float64) maps aligned pixel coordinates (x, y) to photo
    pixel coordinates, pixel centres at integers; ``quad`` its FFHQ crop, ``landmarks`` dlib's 68
    points and ``box`` the detector's (left, top, right, bottom), all in photo pixels."""

    image: np.ndarray
    matrix: np.ndarray
    quad: np.ndarray
    landmarks: np.ndarray
    box: tuple[float, float, float, float]
    detector: str
    photo_size: tuple[int, int]  # (height, width)
    source: str = "photo"  # the photo's file when aligned from a path

    @property
    def size(self) -> int:
        return int(self.image.shape[0])

    @property
    def eye_distance(self) -> float:
        return float(np.hypot(*(self.landmarks[42:48].mean(0) - self.landmarks[36:42].mean(0))))

    def to_json(self) -> str:
        """The transform (everything but the pixels) as JSON."""
        from .. import __version__

        return json.dumps({
            "matrix": self.matrix.tolist(), "inverse": np.linalg.inv(self.matrix).tolist(),
            "convention": "matrix maps aligned (x, y, 1) to photo (x, y, 1); pixel centres at integers",
            "quad": self.quad.tolist(), "landmarks": self.landmarks.tolist(), "box": list(self.box),
            "detector": self.detector, "source": self.source, "photo_size": list(self.photo_size),
            "aligned_size": self.size, "paperlib_version": __version__}, indent=1)

    @classmethod
    def from_json(cls, text: str, image: np.ndarray | None = None) -> "AlignedFace":
        """An ``AlignedFace`` from :meth:`to_json` (and the aligned image, e.g. the PNG beside it)."""
        d = json.loads(text)
        size = int(d["aligned_size"])
        image = np.zeros((size, size, 3), np.uint8) if image is None else np.asarray(image)
        return cls(image=image, matrix=np.array(d["matrix"], dtype=np.float64), quad=np.array(d["quad"]),
                   landmarks=np.array(d["landmarks"]), box=tuple(d["box"]), detector=d["detector"],
                   photo_size=tuple(d["photo_size"]), source=d.get("source", "photo"))


def align_photo(photo, *, size: int = 1024, source: str | None = None, max_pixels: int = MAX_PIXELS,
                min_eye_distance: float = MIN_EYE_DISTANCE) -> list[AlignedFace]:
    """Every face of ``photo`` (a path, bytes, PIL image or uint8 array; see
    :func:`paperlib.infra.images.read_photo`) FFHQ-aligned to ``size``², largest first.

    Faces whose eye distance is below ``min_eye_distance`` are left out; a ``ValueError`` naming
    ``source`` when no face is found or every face is too small."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 16:
        raise ValueError(f"size: expected an integer >= 16, got {size!r}")
    if source is None:
        source = f"photo: {photo}" if isinstance(photo, (str, Path)) else "photo"
    rgb = read_photo(photo, max_pixels=max_pixels, source=source)
    boxes, detector = detect_faces(rgb)
    if not boxes:
        raise ValueError(f"{source} has no face dlib's HOG or CNN detector finds; use a photo with a frontal "
                         "face at least about 80 px wide")
    faces, eyes = [], []
    for box in boxes:
        lm = landmarks68(rgb, box)
        eyes.append(float(np.hypot(*(lm[42:48].mean(0) - lm[36:42].mean(0)))))
        if eyes[-1] < min_eye_distance:
            continue
        quad = ffhq_quad(lm)
        matrix = quad_matrix(quad, size)
        faces.append(AlignedFace(warp_to_square(rgb, matrix, size), matrix, quad, lm, box, detector,
                                 rgb.shape[:2], str(photo) if isinstance(photo, (str, Path)) else source))
    if not faces:
        raise ValueError(f"{source} has too small a face: {max(eyes):.0f} px between the eyes, the minimum is "
                         f"{min_eye_distance:.0f}; use a higher-resolution photo of the face")
    return faces


def paste_back(photo, aligned_result, face: AlignedFace, mask, *, feather: float = 8.0) -> np.ndarray:
    """``aligned_result`` warped back into ``photo`` through ``face.matrix``, blended with ``mask``
    (``(size, size)`` in [0, 1], aligned space: the Diff-CAM++ mask) feathered by a Gaussian of
    standard deviation ``feather`` aligned pixels (support: the mask dilated by 3 ``feather``).

    Returns ``(H, W, 3)`` uint8; every pixel where the warped feathered mask is 0 equals ``photo``."""

    rgb = read_photo(photo, source="photo") if not isinstance(photo, np.ndarray) else photo
    s = face.size
    if rgb.dtype != np.uint8 or rgb.shape != (*face.photo_size, 3):
        raise ValueError(f"photo: expected the aligned photo, uint8 {(*face.photo_size, 3)}, got {rgb.dtype} "
                         f"{rgb.shape}")
    result = np.asarray(aligned_result)
    if result.shape != (s, s, 3):
        raise ValueError(f"aligned_result: expected shape {(s, s, 3)}, got {result.shape}")
    if result.dtype != np.uint8:
        if not np.issubdtype(result.dtype, np.floating) or not np.isfinite(result).all() or result.min() < 0 \
                or result.max() > 1:
            raise ValueError("aligned_result: expected uint8, or floats in [0, 1]")
        result = result * 255.0
    mask = np.asarray(mask, dtype=np.float32)
    if mask.shape != (s, s) or not np.isfinite(mask).all() or mask.min() < 0 or mask.max() > 1:
        raise ValueError(f"mask: expected shape {(s, s)} with values in [0, 1], got {mask.shape}")
    if not (isinstance(feather, (int, float)) and feather >= 0):
        raise ValueError(f"feather: expected a number >= 0, got {feather!r}")
    (x0, y0, x1, y1), alpha = warped_mask(face, mask, feather)
    out = rgb.copy()
    if x1 <= x0 or y1 <= y0:
        return out
    back = _into_photo(face, result.astype(np.float32), (x0, y0, x1, y1), cubic=True)
    region = out[y0:y1, x0:x1]
    a = alpha[..., None].astype(np.float64)
    blended = np.clip(np.rint(a * back + (1 - a) * region), 0, 255).astype(np.uint8)
    inside = alpha > 0
    region[inside] = blended[inside]
    return out


def _window(face: AlignedFace) -> tuple[int, int, int, int]:
    """The photo pixels ``(x0, y0, x1, y1)`` (ends excluded) the aligned square covers, clipped."""
    s = face.size
    corners = face.matrix[:2, :2] @ np.array([[-1, -1, s, s], [-1, s, -1, s]]) + face.matrix[:2, 2:]
    h, w = face.photo_size
    x0, y0 = max(0, int(np.floor(corners[0].min()))), max(0, int(np.floor(corners[1].min())))
    x1, y1 = min(w, int(np.ceil(corners[0].max())) + 1), min(h, int(np.ceil(corners[1].max())) + 1)
    return (x0, y0, max(x0, x1), max(y0, y1))


def _into_photo(face: AlignedFace, array: np.ndarray, window, cubic: bool) -> np.ndarray:
    """Aligned-space float32 ``array`` resampled into the photo ``window`` (0 outside the square for
    bilinear, edge-replicated for bicubic); box-averaged first when the face shrinks by 2x or more."""
    import cv2

    matrix, size = face.matrix, face.size
    k = int(1.0 / np.hypot(matrix[0, 0], matrix[1, 0]))
    if k >= 2:
        n = max(1, round(size / k))
        f = size / n  # small pixel q has its centre at aligned f * q + (f - 1) / 2
        array = cv2.resize(array, (n, n), interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.array([[f, 0, (f - 1) / 2], [0, f, (f - 1) / 2], [0, 0, 1]])
    x0, y0, x1, y1 = window
    to_aligned = (np.linalg.inv(matrix) @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1.0]]))[:2]
    flags = (cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
    border = cv2.BORDER_REPLICATE if cubic else cv2.BORDER_CONSTANT
    return cv2.warpAffine(array, to_aligned, (x1 - x0, y1 - y0), flags=flags, borderMode=border, borderValue=0)


def warped_mask(face: AlignedFace, mask, feather: float = 8.0):
    """``mask`` (aligned space) feathered by a Gaussian of std ``feather`` aligned pixels (outside the
    square counts as 0) and warped into the photo: ``((x0, y0, x1, y1), alpha)``, ``alpha`` the
    window ``[y0:y1, x0:x1]`` of the photo the square covers; 0 outside the window."""
    import cv2

    mask = np.asarray(mask, dtype=np.float32)
    if feather > 0:
        k = 2 * int(np.ceil(3 * feather)) + 1
        mask = cv2.GaussianBlur(mask, (k, k), feather, borderType=cv2.BORDER_CONSTANT)
    window = _window(face)
    x0, y0, x1, y1 = window
    if x1 <= x0 or y1 <= y0:
        return window, np.zeros((0, 0), np.float32)
    return window, _into_photo(face, mask, window, cubic=False)


def align_command(photos, out, size: int = 1024, max_pixels: int | None = None, quiet: bool = False) -> int:
    """The ``align`` command: check every argument and photo (one line, status 2, nothing written),
    then per photo write ``OUT/<name>.png`` (the largest face), ``<name>_1.png`` ... and each face's
    ``.json`` transform. A photo without a usable face is reported and skipped: status 1 at the end."""
    import sys

    from ..infra.paths import out_folder

    try:
        if size < 16:
            raise ValueError(f"size: expected at least 16, got {size}")
        out = out_folder(out)
        from ..infra.images import photo_files

        max_pixels = max_pixels or MAX_PIXELS
        files = photo_files(photos, max_pixels)
        from tqdm.auto import tqdm
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    skipped, written = [], 0
    for f in tqdm(files, desc="align", unit="photo", disable=quiet):
        try:
            faces = align_photo(f, size=size, source=f"PHOTO: {f}", max_pixels=max_pixels)
        except ValueError as err:
            skipped.append(str(err))
            tqdm.write(f"skipped: {err}", file=sys.stderr)
            continue
        for i, face in enumerate(faces):
            face.source = str(f)  # the file, not the label of the messages
            name = f.stem if i == 0 else f"{f.stem}_{i}"
            Image.fromarray(face.image).save(out / f"{name}.png")
            (out / f"{name}.json").write_text(face.to_json())
            written += 1
    print(f"aligned {written} face(s) from {len(files) - len(skipped)} of {len(files)} photo(s) into {out}")
    if skipped:
        print(f"error: {len(skipped)} photo(s) skipped (see above)", file=sys.stderr)
    return 1 if skipped else 0
