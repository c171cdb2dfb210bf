"""``python -m paperlib edit``: your own photo aligned (real dlib models), edited with the paper
profile's networks at their official sizes and pasted back. No pretrained editing weights exist
here, so the end-to-end run uses random-init networks (``--random-weights``): it proves the
full-size path and the paste-back, and every file it writes says RANDOM WEIGHTS."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from PIL import Image

from paperlib.cli import main
from paperlib.photo.edit import RANDOM_STAMP, check_edit_arguments, check_method

PHOTO = "1.jpg"


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def edited(shared, tmp_path_factory):
    """One run of the command on a sample photo placed off-centre in a larger canvas (so that the
    paste-back has a photo around the face to leave alone), on the CPU, random weights."""
    work = tmp_path_factory.mktemp("edit")
    face = Image.open(shared / "data" / "sample_faces" / PHOTO).convert("RGB")
    canvas = Image.new("RGB", (1500, 1300), (40, 90, 160))
    rng = np.random.default_rng(0)
    canvas = Image.fromarray(np.clip(np.asarray(canvas, dtype=np.int16) + rng.integers(-20, 20, (1300, 1500, 3)),
                                     0, 255).astype(np.uint8))
    canvas.paste(face.resize((700, 700), Image.LANCZOS), (600, 420))
    photo = work / "portrait.png"
    canvas.save(photo)
    t0 = time.perf_counter()
    rc = main(["edit", str(photo), "--attribute", "Smiling", "--random-weights", "--device", "cpu",
               "--out", str(work / "out"), "--quiet"])
    print(f"\nedit, one photo at the official sizes on CPU (random weights): {time.perf_counter() - t0:.0f} s")
    assert rc == 0
    return photo, work / "out"


def test_edit_writes_every_file_stamped_random_weights(edited):
    photo, out = edited
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(f"portrait_{k}" for k in ("aligned.png", "edit.png", "result.png", "mask.png",
                                                      "pasted.png", "edit.json", "before_after.png"))
    meta = json.loads((out / "portrait_edit.json").read_text())
    assert meta["weights"] == RANDOM_STAMP and meta["attribute"] == "Smiling" and meta["method"] == "Diff-CAM++"
    assert meta["provenance"]["random_weights"] is True
    for k in ("aligned", "edit", "result", "mask", "pasted"):
        with Image.open(out / f"portrait_{k}.png") as im:
            assert im.text.get("paperlib") == RANDOM_STAMP, k
            assert im.size == ((1500, 1300) if k == "pasted" else (1024, 1024)), k


def test_pasted_photo_changes_only_inside_the_face_square(edited):
    """Every pixel outside the aligned square (its quad in the photo) is bit-identical; inside, the
    pasted pixels are the method's output where the mask is (here random: a small region)."""
    import cv2

    photo, out = edited
    before = np.asarray(Image.open(photo).convert("RGB"))
    after = np.asarray(Image.open(out / "portrait_pasted.png"))
    quad = np.asarray(json.loads((out / "portrait_edit.json").read_text())["transform"]["quad"], dtype=np.float64)
    inside = np.zeros(before.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(quad).astype(np.int32)], 1)
    inside = cv2.dilate(inside, np.ones((5, 5), np.uint8)).astype(bool)  # the quad's edge pixels, rounded
    changed = (before != after).any(-1)
    assert not (changed & ~inside).any()
    mask = np.asarray(Image.open(out / "portrait_mask.png"))
    assert changed.any() == (mask > 0).any()  # something is pasted exactly when the mask is not empty


def test_missing_weights_stop_before_any_work_with_the_download_command(shared, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "home"))
    t0 = time.perf_counter()
    rc = main(["edit", str(shared / "data" / "sample_faces" / PHOTO), "--attribute", "Old", "--device", "cpu",
               "--out", str(tmp_path / "out")])
    assert rc == 2 and time.perf_counter() - t0 < 20
    err = _error_line(capsys)
    assert "python -m paperlib download" in err and "psp-ffhq-encode" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["--method", "pSp"], "method: 'pSp' has no mask"),
    (["--method", "nonsense"], "method: 'nonsense'"),
    (["--alpha", "nan"], "alpha: expected a finite number"),
])
def test_bad_arguments_give_one_line(shared, tmp_path, capsys, argv, message):
    rc = main(["edit", str(shared / "data" / "sample_faces" / PHOTO), "--attribute", "Old", "--device", "cpu",
               "--out", str(tmp_path / "out"), *argv])
    assert rc == 2 and message in _error_line(capsys)
    assert not (tmp_path / "out").exists()


def test_missing_photo_and_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="PHOTO: .*nope.jpg does not exist"):
        check_edit_arguments([str(tmp_path / "nope.jpg")], "Old", 20.0, "Diff-CAM++")
    with pytest.raises(ValueError, match="holds no image file"):
        check_edit_arguments([str(tmp_path)], "Old", 20.0, "Diff-CAM++")


def test_methods_by_name_and_slug():
    assert check_method("EOGI") == "Diff-CAM" and check_method("diff-cam-pp") == "Diff-CAM++"


def test_explorer_upload_shows_the_one_line_error_of_a_bad_file():
    """The walkthrough explorer's upload (paper profile) runs the ``edit`` path on the uploaded bytes;
    a file that is not an image is answered with the one-line message, before any network runs."""
    import datetime

    from paperlib.teaching.explorer import explorer_controls, photo_upload

    upload, out = photo_upload(setup=None, controls=explorer_controls(1))
    upload.value = ({"name": "notes.txt", "type": "text/plain", "size": 5, "content": memoryview(b"hello"),
                     "last_modified": datetime.datetime.now(datetime.timezone.utc)},)
    text = "".join(o.get("text", "") for o in out.outputs)
    assert text.strip() == "error: photo: notes.txt is not an image Pillow can read"
