"""Bytes the evaluation cache needs per image, before (every output as a PNG) and after
(values + FID features, PNGs only for the first K images), measured side by side.

1. The synthetic profile (128², a small random classifier): the cache of one evaluation with
   every image kept as PNG (the old layout) against the same with ``--keep-images 0``.
2. The paper profile at 1024²: a PNG (compress level 1, as the cache writes) of each real
   photo of ``../shared/data/sample_faces`` stands for one output; times the outputs per image
   of the paper's protocol (7 mask/pSp methods x 4 attributes + e4e and ReStyle x 2) against
   the values and 2048-d float32 features the new cache keeps.

    .venv/bin/python benchmarks/cache_size.py [--faces ../shared/data/sample_faces]
"""

from __future__ import annotations

import argparse
import io
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def folder_bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def synthetic(n: int) -> tuple[float, float]:
    from paperlib.method.diffnet import DiffNet
    from paperlib.evaluation.evaluate import evaluate
    from paperlib.evaluation.metrics import FIDMetric
    from paperlib.profiles.synthetic import setup as synthetic_setup
    from paperlib.synth import SynthInverter, SynthWorld

    torch.manual_seed(0)
    setup = synthetic_setup(n, classifier=DiffNet(7, "resnet18").eval(), inverter=SynthInverter(SynthWorld(128)),
                            progress=False)
    fid = FIDMetric(features=lambda x: torch.nn.functional.adaptive_avg_pool2d(x, 1).flatten(1).repeat(1, 683)[:, :2048],
                    progress=False)  # a 2048-d stand-in: the size of Inception's features
    import paperlib.evaluation.metrics

    paperlib.evaluation.metrics.fid_from_stats = lambda *a: 0.0  # bytes are measured here, not FID (sqrtm of 2048² is slow)
    sizes = []
    with tempfile.TemporaryDirectory() as tmp:
        for keep in (n, 0):
            out = Path(tmp) / f"keep{keep}"
            evaluate(setup, out, attributes=("Beard", "Old"), batch=n, keep_images=keep, fid=fid, progress=False)
            sizes.append(folder_bytes(out / "cache"))
    return sizes[0] / n, sizes[1] / n


def paper(faces: Path) -> tuple[float, float, int]:
    from PIL import Image

    pngs = []
    for p in sorted(faces.glob("*.jpg")):
        buf = io.BytesIO()
        with Image.open(p) as im:
            im.convert("RGB").save(buf, format="PNG", compress_level=1)
        pngs.append(len(buf.getvalue()))
    outputs = 7 * 4 + 2 * 2
    before = float(np.mean(pngs)) * outputs
    per_output = 2048 * 4 + 2 * 24  # float32 features, two metric values in JSON (~24 bytes each)
    after = outputs * per_output + 2048 * 4  # + the photo's own features
    return before, after, len(pngs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", default=str(ROOT.parent / "shared" / "data" / "sample_faces"))
    parser.add_argument("--n", type=int, default=4)
    args = parser.parse_args()
    before, after = synthetic(args.n)
    print(f"synthetic 128², 2 attributes x 7 methods, {args.n} images: {before / 1e3:.1f} kB/image with every PNG, "
          f"{after / 1e3:.1f} kB/image with values + features: {before / after:.1f}x smaller")
    before, after, k = paper(Path(args.faces))
    print(f"paper 1024², 32 outputs per image (PNG size of {k} real photos): {before / 1e6:.1f} MB/image before, "
          f"{after / 1e3:.0f} kB/image after: {before / after:.0f}x smaller; N = 1000: {before * 1e3 / 1e9:.0f} GB vs "
          f"{after * 1e3 / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
