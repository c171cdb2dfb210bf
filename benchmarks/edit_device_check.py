"""The ``edit`` path at the official sizes on CUDA, with random-init paper networks: time per face
and attribute, peak GPU memory, and CUDA vs CPU agreement on the first face.

The faces are aligned beforehand with ``python -m paperlib align PHOTOS --out ALIGNED`` (the
alignment runs on the CPU with dlib; its model files need not be on the GPU machine)::

    python -m paperlib align ../shared/data/sample_faces/{1,6,10,13}.jpg --out runs/aligned
    python benchmarks/edit_device_check.py --aligned runs/aligned --photos ../shared/data/sample_faces --out runs/edit-check
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from paperlib.photo.align import AlignedFace
from paperlib.photo.edit import RANDOM_STAMP, before_after_figure, edit_photo, photo_components, save_figure
from paperlib.infra.images import read_photo

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--aligned", required=True, help="folder written by `python -m paperlib align`")
p.add_argument("--photos", required=True, help="folder of the original photos")
p.add_argument("--out", default="runs/edit-check")
p.add_argument("--attributes", nargs="+", default=["Smiling", "Old"])
args = p.parse_args()
aligned, photos, out = Path(args.aligned), Path(args.photos), Path(args.out)
out.mkdir(parents=True, exist_ok=True)
names = sorted(f.stem for f in aligned.glob("*.json"))


def face(n):
    return AlignedFace.from_json((aligned / f"{n}.json").read_text(),
                                 image=np.asarray(Image.open(aligned / f"{n}.png").convert("RGB")))


def photo(n):
    return read_photo(next(photos.glob(f"{n}.*")))


t = time.perf_counter()
c = photo_components("cuda", random_weights=True)
torch.cuda.synchronize()
print(f"build + to cuda: {time.perf_counter() - t:.1f} s")
first = None
for attr in args.attributes:
    for n in names:
        torch.cuda.reset_peak_memory_stats()
        torch.cuda.synchronize()
        t = time.perf_counter()
        e = edit_photo(c, photo(n), attr, 20.0, "Diff-CAM++", faces=[face(n)])[0]
        torch.cuda.synchronize()
        print(f"{attr} {n}: {time.perf_counter() - t:.2f} s, peak {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
        first = first or (attr, n, e)
attr, n, eg = first
save_figure(before_after_figure(photo(n), [eg], RANDOM_STAMP), out / "before_after_cuda.png")
t = time.perf_counter()
ec = edit_photo(photo_components("cpu", random_weights=True), photo(n), attr, 20.0, "Diff-CAM++", faces=[face(n)])[0]
print(f"cpu edit ({torch.get_num_threads()} threads): {time.perf_counter() - t:.1f} s")
for k in ("edited", "output", "pasted"):
    d = np.abs(getattr(ec, k).astype(int) - getattr(eg, k).astype(int))
    print(f"cuda vs cpu {k}: max {d.max()} levels, share differing {(d > 0).mean():.4f}")
print(f"cuda vs cpu mask: max {np.abs(ec.mask - eg.mask).max():.2e}")
