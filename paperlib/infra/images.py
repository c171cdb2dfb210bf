"""Photos: listing them (:func:`list_photos`, the one list of suffixes :data:`IMAGE_SUFFIXES`), reading
them (:func:`read_photo`: yours for :mod:`paperlib.photo`, CelebA-HQ and face folders for the paper
profile; any format Pillow reads, as ``(H, W, 3)`` uint8 RGB) and the float tensor the networks take
(:func:`photo_tensor`). Reading:

- EXIF orientation is applied (a phone photo stored sideways comes out upright);
- modes are converted: ``1``/``L``/``P``/``YCbCr``/``LAB``/``HSV``/``CMYK`` with Pillow's own conversion
  (CMYK without colour management: an embedded ICC profile is ignored), 16-bit and 32-bit grey
  (``I;16*``, ``I``) scaled from 0-65535 to 0-255, ``F`` clipped to 0-255; an alpha channel
  (``RGBA``, ``LA``, ``PA``, ``P`` with transparency) is **composited on white**, the background
  most portrait tools export transparent areas over;
- a photo larger than ``max_pixels`` is refused from its header, before any pixel is decoded.

Every refusal is one line naming the photo and what to do.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import numpy as np

#: Largest photo accepted by default (width x height): 50 megapixels, 150 MB as RGB uint8, below
#: Pillow's own decompression-bomb limits (89 M warns, 179 M fails). Larger photos must be downscaled.
MAX_PIXELS = 50_000_000

#: The photo files the profiles list (CelebA-HQ, a folder of faces, training images): PNG and JPEG.
#: The ``align`` / ``edit`` commands take any extension Pillow knows (:func:`photo_files`).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")
#: How :func:`list_photos` sorts: ``natural`` (numeric names by value, 2.jpg before 10.jpg, then the
#: others by name) or ``name`` (by path, as ``sorted`` orders paths).
PHOTO_ORDERS: tuple[str, ...] = ("natural", "name")

_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_HIGH_BIT_MODES = ("I", "I;16", "I;16L", "I;16B", "I;16N")


def _too_big(source: str, pixels: int, max_pixels: int, size: tuple[int, int] | None = None) -> ValueError:
    side = int(max_pixels ** 0.5)
    shape = f"{size[0]}x{size[1]} = " if size else ""
    count = f"{shape}{pixels} pixels" if pixels >= 0 else "more pixels than Pillow accepts"
    return ValueError(f"{source} has {count}, more than the limit of {max_pixels}; downscale it "
                      f"first (e.g. to at most {side}x{side}) or raise max_pixels (--max-pixels)")


def open_photo(path, *, max_pixels: int = MAX_PIXELS, source: str | None = None):
    """Open ``path`` lazily (header only) and check it: a readable image of at most ``max_pixels``.

    Returns the unloaded ``PIL.Image``. ``FileNotFoundError`` for a missing file, ``ValueError``
    for anything else, one line starting with ``source`` (default ``photo: <path>``)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    source = source or f"photo: {path}"
    if not path.is_file():
        raise FileNotFoundError(f"{source} does not exist")
    try:
        image = Image.open(path)
    except Image.DecompressionBombError as err:  # Pillow refuses > 179 M pixels itself, from the header
        found = re.search(r"\((\d+) pixels\)", str(err))
        raise _too_big(source, int(found.group(1)) if found else -1, max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValueError(f"{source} is not an image Pillow can read") from None
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise _too_big(source, width * height, max_pixels, (width, height))
    return image


def _to_rgb(image, source: str) -> np.ndarray:
    """A loaded PIL image, upright and in any mode, as (H, W, 3) uint8 RGB (see the module doc)."""
    from PIL import Image, ImageOps

    try:
        image = ImageOps.exif_transpose(image) or image
        mode = image.mode
        if mode == "P" and "transparency" in image.info:
            image, mode = image.convert("RGBA"), "RGBA"
        if mode in _ALPHA_MODES:
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
        if mode in _HIGH_BIT_MODES:
            grey = np.asarray(image.convert("I"), dtype=np.float64)
            grey = grey / 257.0 if grey.max(initial=0) > 255 else grey
            return np.repeat(np.clip(np.rint(grey), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
        if mode == "F":
            grey = np.clip(np.rint(np.asarray(image, dtype=np.float64)), 0, 255).astype(np.uint8)
            return np.repeat(grey[..., None], 3, axis=2)
        return np.ascontiguousarray(np.asarray(image.convert("RGB")))
    except (OSError, ValueError, SyntaxError) as err:  # truncated or corrupt pixel data
        raise ValueError(f"{source} cannot be decoded ({err}); re-save it as PNG or JPEG") from None


def _array_to_rgb(array: np.ndarray, source: str) -> np.ndarray:
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.dtype != np.uint8 or not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ValueError(f"{source}: expected a uint8 array of shape (H, W), (H, W, 3) or (H, W, 4), "
                         f"got {array.dtype} {array.shape}")
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=2)
    if array.shape[2] == 4:  # composite on white, like an RGBA file
        alpha = array[..., 3:].astype(np.float64) / 255.0
        rgb = array[..., :3] * alpha + 255.0 * (1.0 - alpha)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)


def read_photo(photo, *, max_pixels: int = MAX_PIXELS, source: str | None = None) -> np.ndarray:
    """A photo as an ``(H, W, 3)`` uint8 RGB array, upright (EXIF), converted (see the module doc).

    ``photo``: a path, the file's ``bytes`` (an upload widget's value), an open ``PIL.Image`` or a
    uint8 array (``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``). More than ``max_pixels`` pixels is
    refused before decoding; errors are one line starting with ``source`` (default ``photo: <path>``,
    else ``photo``).
    """
    from PIL import Image

    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels: expected a positive integer, got {max_pixels!r}")
    if isinstance(photo, np.ndarray):
        source = source or "photo"
        h, w = photo.shape[:2]
        if h * w > max_pixels:
            raise _too_big(source, h * w, max_pixels, (w, h))
        return _array_to_rgb(photo, source)
    if isinstance(photo, (bytes, bytearray)):
        source = source or "photo"
        try:
            image = Image.open(io.BytesIO(photo))
        except Image.DecompressionBombError:
            raise _too_big(source, -1, max_pixels) from None
        except (OSError, SyntaxError, ValueError):
            raise ValueError(f"{source} is not an image Pillow can read") from None
    elif isinstance(photo, Image.Image):
        source, image = source or "photo", photo
    elif isinstance(photo, (str, Path)):
        source = source or f"photo: {photo}"
        image = open_photo(photo, max_pixels=max_pixels, source=source)
    else:
        raise ValueError(f"{source or 'photo'}: expected a path, bytes, a PIL image or a uint8 array, "
                         f"got {type(photo).__name__}")
    width, height = image.size
    if width * height > max_pixels:
        raise _too_big(source, width * height, max_pixels, (width, height))
    with image if image is not photo else contextlib.nullcontext():  # a caller's own image stays open
        return _to_rgb(image, source)


def natural_key(path: Path) -> tuple:
    """Sort key of a photo: a numeric name by its value (``2.jpg`` before ``10.jpg``; of equal values the
    shorter, ``2`` before ``002``), all numeric names before the others, which sort by name."""
    stem = Path(path).stem
    return (len(stem), stem) if stem.isdigit() else (float("inf"), stem)


def list_photos(folder, *, suffixes=IMAGE_SUFFIXES, recursive: bool = False, order: str = "natural") -> list[Path]:
    """The photo files of ``folder`` (the files whose suffix, any case, is in ``suffixes``), directly in
    it or with ``recursive`` anywhere below it, sorted by ``order`` (:data:`PHOTO_ORDERS`). A folder
    that is not one raises a one-line FileNotFoundError; an empty result is the caller's to judge."""
    if order not in PHOTO_ORDERS:
        raise ValueError(f"order: expected one of {', '.join(PHOTO_ORDERS)}, got {order!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"images: {folder} is not a folder of photos")
    suffixes = {s.lower() for s in suffixes}
    found = (p for p in (folder.rglob("*") if recursive else folder.iterdir())
             if p.suffix.lower() in suffixes and p.is_file())
    return sorted(found, key=natural_key if order == "natural" else None)


def photo_tensor(rgb: np.ndarray):
    """An ``(H, W, 3)`` uint8 photo (:func:`read_photo`) as the ``(3, H, W)`` float32 tensor in [-1, 1]
    the networks take (``x / 127.5 - 1``)."""
    import torch

    return torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).float().div(127.5).sub(1)


def photo_files(photos, max_pixels: int = MAX_PIXELS) -> list[Path]:
    """The photo files of the ``align`` and ``edit`` commands: each argument a file, or a folder
    standing for the image files directly in it (any extension Pillow knows), sorted. Each is checked
    from its header (:func:`open_photo`: exists, an image, at most ``max_pixels``) and no two may share
    a name (their outputs would collide): a one-line error naming ``PHOTO`` otherwise."""
    from PIL import Image

    if isinstance(photos, (str, Path)) or not photos:
        raise ValueError(f"PHOTO: expected one or more photo files or folders, got {photos!r}")
    known = set(Image.registered_extensions())
    files: list[Path] = []
    for arg in photos:
        path = Path(arg)
        if path.is_dir():
            inside = list_photos(path, suffixes=known, order="name")
            if not inside:
                raise ValueError(f"PHOTO: {path} holds no image file")
            files += inside
        else:
            files.append(path)
    for f in files:
        open_photo(f, max_pixels=max_pixels, source=f"PHOTO: {f}").close()
    stems = [f.stem for f in files]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise ValueError(f"PHOTO: several photos are named {', '.join(twice)}; their outputs would collide")
    return files
