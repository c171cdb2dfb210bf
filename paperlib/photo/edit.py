"""Your own photo: align it the FFHQ way, edit the aligned face with the paper profile's networks,
paste the result back into the photo.

The steps, each a function: :func:`paperlib.photo.align.align_photo` (detect, 68 landmarks, FFHQ quad,
1024² crop and its transform) -> :func:`edit_aligned` (the whole method of
:mod:`paperlib.method.pipeline` on the crop: invert, edit, CAM, eq 10, eq 11, deghost) ->
:func:`paperlib.photo.align.paste_back` (the method's output warped back with the inverse transform,
through a feathered version of the method's mask M: outside it the photo is untouched, bit for
bit). :func:`edit_photo` chains them for every face of a photo; :func:`save_edit` writes the
files of one face; :func:`edit_photos` is the ``python -m paperlib edit`` command's body.

Only the methods with a mask can be pasted back (:data:`EDIT_METHODS`: EOGI's Diff-CAM, Diff-CAM++,
the authors' code and the ablation variants); pSp's plain edit changes the whole square.

Without the official weights :func:`photo_components` stops before any work with the download
commands (as ``reproduce --profile paper`` does); ``random_weights`` builds the networks at their
official sizes with random init instead (a dry run: every file it writes says RANDOM WEIGHTS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used: `edit --help` and its argument checks answer without it
    import torch

from ..checks import check_alpha
from ..method.attributes import check_attribute
from ..evaluation.methods import MASK_METHODS, method_name

#: Methods whose output can be pasted back (they have a mask); ``--method`` accepts these (or their slugs).
EDIT_METHODS: tuple[str, ...] = tuple(MASK_METHODS)
#: What every file of a random-weights run says.
RANDOM_STAMP = "RANDOM WEIGHTS (dry run: random-init networks at the official sizes; not an edit)"


def check_method(method: str) -> str:
    """The mask variant of ``method`` (a name or slug of :data:`EDIT_METHODS`), or a one-line ValueError."""
    name = method_name(method)
    if name not in MASK_METHODS:
        raise ValueError(f"method: {method!r} has no mask to paste back with; expected one of "
                         f"{', '.join(EDIT_METHODS)}")
    return MASK_METHODS[name]


def check_edit_arguments(photos: Sequence[str | Path], attribute: str, alpha: float, method: str) -> list[Path]:
    """One-line errors for the ``edit`` command's arguments, before any work; returns the photo
    files (:func:`paperlib.infra.images.photo_files`: a folder stands for the images directly in it,
    each checked from its header)."""
    from ..infra.images import photo_files

    check_attribute(attribute)
    check_method(method)
    check_alpha(alpha)
    return photo_files(photos)


def photo_components(device: str = "cuda", *, random_weights: bool = False, seed: int = 0,
                     generation: str = "eogi"):
    """The paper profile's :class:`paperlib.method.pipeline.Components` for one photo
    (:func:`paperlib.profiles.paper.networks`): the official networks (a missing file raises one
    FileNotFoundError listing every download command, before anything is loaded), or, only with
    ``random_weights``, every network random-init at its official size, seeded."""
    from ..profiles.paper import networks

    return networks(device, generation, random_weights=random_weights, seed=seed).components


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """(H, W, 3) uint8 -> (1, 3, H, W) float in [-1, 1] (:func:`paperlib.infra.images.photo_tensor`, how the
    paper profile reads a photo)."""
    from ..infra.images import photo_tensor

    return photo_tensor(image)[None].to(device)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) in [-1, 1] -> (H, W, 3) uint8 (:func:`paperlib.evaluation.cache.to_uint8`: what a saved PNG holds)."""
    from ..evaluation.cache import to_uint8 as batch_to_uint8

    return batch_to_uint8(image)[0].numpy()


@dataclass
class FaceEdit:
    """One face of a photo, edited: the aligned input, ``T = G(w + alpha n)``, the method's output
    (deghosted ``F``), its mask ``M`` (all in the aligned 1024² frame) and the photo with the output
    pasted back."""

    face: object            # paperlib.photo.align.AlignedFace (its transform and landmarks)
    aligned: np.ndarray     # (1024, 1024, 3) uint8
    edited: np.ndarray      # T, (1024, 1024, 3) uint8
    output: np.ndarray      # the method's output, (1024, 1024, 3) uint8
    mask: np.ndarray        # M, (1024, 1024) float32 in [0, 1]
    pasted: np.ndarray      # the photo with the output pasted back, (H, W, 3) uint8


def edit_aligned(c, aligned: np.ndarray, attribute: str, alpha: float = 20.0,
                 variant="Diff-CAM++") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The method (:func:`paperlib.method.pipeline.edit_variants`) on one aligned face (H, W, 3) uint8 for a
    mask variant of :data:`paperlib.method.pipeline.VARIANTS` (or a toggle tuple, as the explorer builds):
    ``(T, output, M)`` as uint8, uint8 and float32 arrays in the aligned frame."""
    from ..method.pipeline import edit_variants

    param = next(c.classifier.parameters())
    e = edit_variants(c, to_tensor(aligned, param.device), attribute, (variant,), alpha=alpha)
    mask = e.masks[variant][0].detach().float().cpu().numpy()
    return to_uint8(e.edited), to_uint8(e.outputs[variant]), mask


def edit_photo(c, photo, attribute: str, alpha: float = 20.0, variant="Diff-CAM++", *,
               source: str = "photo", faces: list | None = None) -> list[FaceEdit]:
    """Every face of ``photo`` (a path, a PIL image or an (H, W, 3) uint8 array), largest first:
    aligned, edited (:func:`edit_aligned`) and pasted back into the photo one after the other (a
    later face is pasted onto the earlier ones' result). ``faces``: alignments already computed."""
    from .align import align_photo, paste_back
    from ..infra.images import read_photo

    image = read_photo(photo, source=source) if not isinstance(photo, np.ndarray) else photo
    faces = align_photo(image, source=source) if faces is None else faces
    out, canvas = [], image
    for face in faces:
        edited, output, mask = edit_aligned(c, face.image, attribute, alpha, variant)
        canvas = paste_back(canvas, output, face, mask)
        out.append(FaceEdit(face, face.image, edited, output, mask, canvas))
    return out


def _panel(image: np.ndarray, longest: int = 512) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, h, w) in [-1, 1], area-downscaled so that the longest side is at most ``longest``."""
    import torch.nn.functional as F

    t = to_tensor(image)
    scale = longest / max(t.shape[-2:])
    if scale < 1:
        t = F.interpolate(t, size=(round(t.shape[-2] * scale), round(t.shape[-1] * scale)), mode="area")
    return t[0]


def before_after_figure(photo: np.ndarray, edits: Sequence[FaceEdit], caption: str = ""):
    """The photo, and per face: the aligned crop, ``T``, the mask over the crop, the method's output and
    the pasted photo (a matplotlib figure; the explorer's upload and the README example)."""
    import torch

    from ..teaching.figures import overlay_cam, panel_grid

    rows = [[_panel(marked_photo(photo, e.face)), _panel(e.aligned), _panel(e.edited),
             overlay_cam(_panel(e.aligned), torch.from_numpy(_mask_panel(e.mask))), _panel(e.output),
             _panel(e.pasted)] for e in edits]
    return panel_grid(rows, ["photo: landmarks, FFHQ quad", "aligned (FFHQ)", r"$T = G(w + \alpha n)$", "mask $M$",
                             "result", "pasted back"],
                      caption=caption, size=2.4)


def marked_photo(photo: np.ndarray, face) -> np.ndarray:
    """A copy of ``photo`` with the face's 68 landmarks (dots) and its FFHQ quad (the aligned square's
    outline, first edge, the top, in red) drawn, line widths scaled to the photo."""
    import cv2

    out = np.ascontiguousarray(photo.copy())
    width = max(1, round(max(photo.shape[:2]) / 400))
    quad = np.round(face.quad).astype(np.int32)
    cv2.polylines(out, [quad], True, (255, 230, 0), width, cv2.LINE_AA)
    cv2.line(out, tuple(map(int, quad[0])), tuple(map(int, quad[3])), (255, 40, 40), width, cv2.LINE_AA)
    for x, y in np.round(face.landmarks).astype(int):
        cv2.circle(out, (int(x), int(y)), width + 1, (0, 255, 80), -1, cv2.LINE_AA)
    return out


def _mask_panel(mask: np.ndarray, longest: int = 512) -> np.ndarray:
    step = max(1, mask.shape[0] // longest)
    return np.ascontiguousarray(mask[::step, ::step])


def face_stem(stem: str, k: int) -> str:
    """``<stem>`` for the first (largest) face of a photo, ``<stem>_<k>`` for the others (as ``align`` names them)."""
    return stem if k == 0 else f"{stem}_{k}"


def _save_png(array: np.ndarray, path: Path, stamp: str | None) -> Path:
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    if stamp:
        info.add_text("paperlib", stamp)
    Image.fromarray(array).save(path, pnginfo=info)
    return path


def save_edit(e: FaceEdit, out_dir: Path, stem: str, meta: dict, stamp: str | None = None) -> list[Path]:
    """The files of one edited face: ``<stem>_aligned.png``, ``<stem>_edit.png`` (T), ``<stem>_result.png``
    (the method's output), ``<stem>_mask.png`` (M, 8-bit), ``<stem>_pasted.png`` (the whole photo) and
    ``<stem>_edit.json`` (the transform, the settings, the provenance; ``stamp`` when random weights)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [_save_png(a, out_dir / f"{stem}_{name}.png", stamp) for name, a in (
        ("aligned", e.aligned), ("edit", e.edited), ("result", e.output),
        ("mask", (e.mask.clip(0, 1) * 255).round().astype(np.uint8)), ("pasted", e.pasted))]
    sidecar = out_dir / f"{stem}_edit.json"
    sidecar.write_text(json.dumps({**meta, "weights": stamp or meta.get("weights"),
                                   "transform": json.loads(e.face.to_json()), "mask_mean": float(e.mask.mean())}, indent=1))
    return files + [sidecar]


def edit_photos(photos: Sequence[str | Path], attribute: str, out_dir: str | Path, *, alpha: float = 20.0,
                method: str = "Diff-CAM++", device: str = "cuda", random_weights: bool = False, seed: int = 0,
                progress: bool = True) -> tuple[list[Path], list[str]]:
    """The ``edit`` command: check everything, load the networks once, then per photo align, edit,
    paste back and save (:func:`save_edit`, with the identity distance of
    :func:`paperlib.photo.identity.identity_fields`, and ``<name>_before_after.png``). A photo in which no
    usable face is found is reported and skipped (as ``align`` does). Returns the files written and
    the messages of the photos skipped."""
    from tqdm.auto import tqdm

    from .align import align_photo
    from .identity import identity_fields, recognizer
    from ..infra.images import read_photo
    from ..infra.provenance import record

    files = check_edit_arguments(photos, attribute, alpha, method)
    recognizer()  # the identity model: a missing file stops here, before any work
    c = photo_components(device, random_weights=random_weights, seed=seed)
    stamp = RANDOM_STAMP if random_weights else None
    meta = {"attribute": attribute, "alpha": float(alpha), "method": method_name(method),
            "weights": "official" if not random_weights else stamp,
            "provenance": record(command="edit", attribute=attribute, alpha=float(alpha), method=method_name(method),
                                 device=device, random_weights=random_weights, seed=seed)}
    out_dir = Path(out_dir)
    written: list[Path] = []
    skipped: list[str] = []
    for path in tqdm(files, desc=f"edit {attribute}", unit="photo", disable=not progress):
        photo = read_photo(path, source=f"PHOTO: {path}")
        try:
            faces = align_photo(photo, source=f"PHOTO: {path}")
        except ValueError as err:
            skipped.append(str(err))
            tqdm.write(f"skipped: {err}")
            continue
        for face in faces:
            face.source = str(path)
        edits = edit_photo(c, photo, attribute, alpha, check_method(method), faces=faces)
        for k, e in enumerate(edits):
            identity, missing = identity_fields(e.aligned, e.output, f"PHOTO: {path} face {k}", stamp)
            if missing:
                tqdm.write(f"skipped identity: {missing}")
            written += save_edit(e, out_dir, face_stem(path.stem, k),
                                 {**meta, "photo": str(path), "face": k, **identity}, stamp)
        fig = before_after_figure(photo, edits, _caption(path.name, attribute, alpha, method, stamp))
        written.append(save_figure(fig, out_dir / f"{path.stem}_before_after.png"))
    return written, skipped


def _caption(name: str, attribute: str, alpha: float, method: str, stamp: str | None) -> str:
    text = f"{name}: {attribute}, alpha {alpha:g}, {method_name(method)}"
    return f"{stamp}. {text}" if stamp else text


def save_figure(fig, path: Path) -> Path:
    """Save a matplotlib figure as a PNG and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def edit_command(photos: Sequence[str], attribute: str, *, alpha: float = 20.0, method: str = "Diff-CAM++",
                 out: str | None = None, device: str | None = None, random_weights: bool = False, seed: int = 0,
                 quiet: bool = False) -> int:
    """The ``edit`` command: check every argument (one line, status 2, nothing written), then
    :func:`edit_photos` into ``out`` (default ``runs/edit``, ``runs/random-weights/edit`` with
    ``random_weights``, under the project root) on ``device`` (default cuda when available). Status 1
    when a photo was skipped."""
    import sys

    from ..checks import device_or_default
    from ..infra.paths import out_folder, under_root
    from ..profiles import DEFAULTS

    try:
        check_edit_arguments(photos, attribute, alpha, method)
        device = device_or_default(device, DEFAULTS["paper"]["device"])
        default = under_root("runs", "random-weights", "edit") if random_weights else under_root("runs", "edit")
        out = out_folder(out, default)
        files, skipped = edit_photos(photos, attribute, out, alpha=alpha, method=method, device=device,
                                     random_weights=random_weights, seed=seed, progress=not quiet)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"edit {attribute}: wrote {len(files)} files into {out}")
    if skipped:
        print(f"error: {len(skipped)} photo(s) skipped (see above)", file=sys.stderr)
    return 1 if skipped else 0


__all__ = ["EDIT_METHODS", "RANDOM_STAMP", "FaceEdit", "check_method", "check_edit_arguments", "photo_components",
           "edit_aligned", "edit_photo", "before_after_figure", "save_edit", "edit_photos", "face_stem", "to_tensor", "to_uint8",
           "edit_command"]
