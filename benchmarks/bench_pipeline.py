"""Benchmark: the paper profile at its official sizes, stage by stage, with random-init networks.

pSp + StyleGAN2 at 1024², EOGI's ResNet101 DiffNet (17 classes) at 256², BiSeNet at 512²,
EOGI's deghosting network 128 -> 1024, all built with random weights (``paperlib.models.build``;
nothing is loaded, so no number here is an image-quality number: only time and memory). Photos:
the real 1024² faces of ``../shared/data/sample_faces`` (or ``--images DIR``).

Per batch size it prints the time (median of ``--repeats``) and peak memory of each stage:
inversion, generation, parsing of I and of T, the CAM passes of the six Figure-3 variants (two
passes), fuse + blend (eq 10-11), deghosting (six variants), metrics (MAE; LPIPS and FID with
random-init AlexNet / Inception stand-ins of the same cost); then, in the same run, the
attribute-major order (each attribute repeats the inversion, G(w), the parsing of I and E(I'))
against the image-major one that ``evaluate`` uses, end to end, as a ratio; and the projected
time of the paper's protocol (1000 images x 4 attributes x every method) on this device.
On CUDA it also measures how far TF32 moves the CAM maps from float32 (used only under 1e-3).

    .venv/bin/python benchmarks/bench_pipeline.py [--device cpu] [--batches 1 4] [--attributes ...]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time
from pathlib import Path

import torch

from paperlib.attributes import TABLE_ATTRIBUTES
from paperlib.cache import to_uint8
from paperlib.masks import blend
from paperlib.metrics import mae
from paperlib.models import build
from paperlib.diffnet import SourceEncoded
from paperlib.pipeline import (VARIANTS, classifier_input, differential_cams, edit_prepared, edit_variants, mask,
                               prepare)
from paperlib.profiles.paper import components, read_image

ROOT = Path(__file__).resolve().parents[1]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, device: torch.device, repeats: int) -> tuple[float, float, object]:
    """(median seconds, peak memory in GB, last result) of ``fn()`` after one untimed warm-up."""
    out = fn()
    times = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        out = fn()
        _sync(device)
        times.append(time.perf_counter() - t)
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 1e9
    return statistics.median(times), peak, out


def random_components(device: str):
    torch.manual_seed(0)
    psp = build("psp-ffhq-encode")
    dirs = {a: torch.randn(psp.n_styles, 512) for a in TABLE_ATTRIBUTES}
    dirs = {a: d / d.norm() for a, d in dirs.items()}
    return components(device, "eogi", psp=psp, classifier=build("eogi-diffcam"), parser=build("face-parsing-bisenet"),
                      deghoster=build("eogi-deghosting"), directions=dirs)


def stand_in_metrics(device: torch.device):
    """Random-init networks of the real metrics' architecture and input size (time only)."""
    import torchvision

    alex = torchvision.models.alexnet(weights=None).features.to(device).eval()
    inception = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False).to(device).eval()

    @torch.no_grad()
    def metrics(out01: torch.Tensor, src01: torch.Tensor) -> None:
        mae(out01, src01)
        alex(out01 * 2 - 1), alex(src01 * 2 - 1)                          # LPIPS: AlexNet on both, full size
        inception(torch.nn.functional.interpolate(out01, size=(299, 299), mode="bilinear"))  # FID features
    return metrics


def stages(c, photos: torch.Tensor, attribute: str, device: torch.device, repeats: int) -> dict[str, tuple]:
    """Time and peak memory of each stage for one batch of photos and one attribute."""
    variants = tuple(VARIANTS)
    r = {}
    r["inversion"] = timed(lambda: c.invert(photos), device, repeats)
    w = r["inversion"][2]
    r["generation G(w)"] = timed(lambda: c.generate(w), device, repeats)
    recon = r["generation G(w)"][2]
    r["parsing (I or T)"] = timed(lambda: c.parse(photos), device, repeats)
    p = prepare(c, photos)
    source_cam = classifier_input(c, recon, recon)[:, :3]
    r["encoding E(I'), 6 views"] = timed(lambda: SourceEncoded(c.classifier, source_cam, tta=True), device, repeats)
    edited = c.generate(w + 20 * c.direction(attribute).to(w))
    r["CAM passes (6 variants)"] = timed(lambda: differential_cams(c, recon, edited, attribute, variants,
                                                                   classifier=p.classifier), device, repeats)
    cams = r["CAM passes (6 variants)"][2]
    parsing_i, parsing_t = c.parse(photos), c.parse(edited)
    r["fuse + blend (6 variants)"] = timed(lambda: {v: blend(edited, photos, mask(cams[v], attribute, v, parsing_i,
                                                                                  parsing_t)) for v in variants},
                                           device, repeats)
    blended = r["fuse + blend (6 variants)"][2]
    r["deghosting (6 variants)"] = timed(lambda: [c.deghost(f) for f in blended.values()], device, repeats)
    metrics = stand_in_metrics(device)
    src01 = to_uint8(photos).permute(0, 3, 1, 2).float().div(255).to(device)
    outs01 = [to_uint8(f).permute(0, 3, 1, 2).float().div(255).to(device) for f in blended.values()]
    r["metrics (MAE, LPIPS, FID feat.), 6 outputs"] = timed(lambda: [metrics(o, src01) for o in outs01], device,
                                                           repeats)
    return r


def orders(c, photos: torch.Tensor, attributes, device: torch.device) -> tuple[float, float]:
    """End-to-end seconds of the attribute-major and the image-major order (one run each)."""
    variants = tuple(VARIANTS)

    def attribute_major():
        return [edit_variants(c, photos, a, variants).outputs for a in attributes]

    def image_major():
        p = prepare(c, photos)
        return [edit_prepared(c, p, a, variants).outputs for a in attributes]

    def once(fn) -> float:  # the stages above already warmed every network up
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        return time.perf_counter() - t

    return once(attribute_major), once(image_major)


def tf32_check(c, photos: torch.Tensor, attribute: str) -> float:
    """max |CAM map with TF32 - float32| over the six variants (CUDA only)."""
    prev = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    maps = []
    for flag in (False, True):
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = flag
        maps.append(edit_variants(c, photos, attribute, tuple(VARIANTS)).cams)
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = prev
    return max((maps[0][v] - maps[1][v]).abs().max().item() for v in VARIANTS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--attributes", nargs="+", default=list(TABLE_ATTRIBUTES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", default=str(ROOT.parent / "shared" / "data" / "sample_faces"))
    args = parser.parse_args()
    device = torch.device(args.device)
    files = sorted(Path(args.images).glob("*.jpg")) + sorted(Path(args.images).glob("*.png"))
    if not files:
        raise SystemExit(f"error: images: no .jpg/.png in {args.images}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# torch {torch.__version__}, {device.type} ({name}), threads {torch.get_num_threads()}, "
          f"random-init networks at official sizes, repeats {args.repeats}")
    c = random_components(args.device)
    with torch.inference_mode(False):
        for b in args.batches:
            photos = torch.stack([read_image(files[i % len(files)]) for i in range(b)]).to(device)
            r = stages(c, photos, args.attributes[0], device, args.repeats)
            print(f"\n## batch {b}\n\n| stage | s / batch | s / image | peak memory (GB) |\n|---|---|---|---|")
            for stage, (sec, peak, _) in r.items():
                print(f"| {stage} | {sec:.3f} | {sec / b:.3f} | {peak:.2f} |")
            shared = sum(r[k][0] for k in ("inversion", "generation G(w)", "parsing (I or T)",
                                           "encoding E(I'), 6 views"))
            per_attr = sum(r[k][0] for k in ("generation G(w)", "parsing (I or T)", "CAM passes (6 variants)",
                                             "fuse + blend (6 variants)", "deghosting (6 variants)",
                                             "metrics (MAE, LPIPS, FID feat.), 6 outputs"))
            per_image = (shared + 4 * per_attr) / b
            print(f"\nfrom the stage times, 4 attributes: attribute-major {4 * (shared + per_attr) / b:.2f} s / image, "
                  f"image-major {per_image:.2f} s / image: {4 * (shared + per_attr) / (shared + 4 * per_attr):.2f}x")
            print(f"image-major, 4 attributes: {per_image:.2f} s / image ({1 / per_image:.3f} images/s); projected "
                  f"paper protocol (1000 images x 4 attributes, pSp + EOGI + Diff-CAM++ + 4 ablations; e4e/ReStyle "
                  f"not included): {1000 * per_image / 3600:.2f} h on this device")
            old, new = orders(c, photos, args.attributes, device)
            print(f"end to end, {len(args.attributes)} attributes x 6 variants: attribute-major {old:.2f} s, "
                  f"image-major {new:.2f} s: {old / new:.2f}x")
            if device.type == "cuda":
                print(f"TF32 vs float32, CAM maps: max |diff| {tf32_check(c, photos, args.attributes[0]):.2e} "
                      "(TF32 is used only below 1e-3)")


if __name__ == "__main__":
    main()
