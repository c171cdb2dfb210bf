"""Benchmark: paperlib.method.cam.compute_cam vs pytorch-grad-cam's GradCAMPlusPlus, side by side.

Both run Grad-CAM++ with aug_smooth=True and eigen_smooth=True on the ResNet101 DiffNet
(random init, 6 x 256 x 256 input) in the same process, repeats interleaved. The oracle's
Eigen projection gets our orientation rule (as in tests/method/test_cam_oracle.py) so the maps are
comparable. Prints median seconds, the speed-up and max |diff| per batch size.

    .venv/bin/python benchmarks/bench_cam.py [--repeats 5] [--batches 1 4] [--device cpu]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from pytorch_grad_cam import GradCAMPlusPlus, base_cam
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_cam_oracle import oriented_projection  # noqa: E402  (the oracle's orientation rule)

from paperlib.method.cam import compute_cam  # noqa: E402
from paperlib.method.diffnet import DiffNet  # noqa: E402


def _timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    base_cam.get_2d_projection = oriented_projection
    torch.manual_seed(0)
    model = DiffNet(7, "resnet101").to(args.device).eval()
    layer = model.target_layer
    oracle = GradCAMPlusPlus(model, [layer])
    print(f"# torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"device {args.device}, threads {torch.get_num_threads()}, repeats {args.repeats}")
    print("| batch | paperlib (s) | pytorch-grad-cam (s) | speed-up | max abs diff |")
    print("|---|---|---|---|---|")
    for batch in args.batches:
        x = (torch.rand(batch, 6, args.size, args.size) * 2 - 1).to(args.device)
        targets = [i % 7 for i in range(batch)]
        ours_t, ref_t, diff = [], [], 0.0
        run_ours = lambda: compute_cam(model, layer, x, targets, method="gradcam++",  # noqa: E731
                                       aug_smooth=True, eigen_smooth=True)
        run_ref = lambda: oracle(x, [ClassifierOutputTarget(c) for c in targets],  # noqa: E731
                                 aug_smooth=True, eigen_smooth=True)
        run_ours(), run_ref()  # warm-up, untimed
        for _ in range(args.repeats):
            t, ours = _timed(run_ours)
            ours_t.append(t)
            t, ref = _timed(run_ref)
            ref_t.append(t)
            model.zero_grad(set_to_none=True)
            diff = max(diff, (ours.cpu() - torch.from_numpy(ref)).abs().max().item())
        a, b = statistics.median(ours_t), statistics.median(ref_t)
        print(f"| {batch} | {a:.3f} | {b:.3f} | {b / a:.2f}x | {diff:.2e} |", flush=True)


if __name__ == "__main__":
    main()
