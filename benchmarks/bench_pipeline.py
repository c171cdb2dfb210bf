"""Benchmark: the paper profile at its official sizes, stage by stage, with random-init networks.

pSp + StyleGAN2 at 1024², EOGI's ResNet101 DiffNet (17 classes) at 256², BiSeNet at 512²,
EOGI's deghosting network 128 -> 1024, all built with random weights (``paperlib.models.build``;
nothing is loaded, so no number here is an image-quality number: only time and memory). Photos:
the real 1024² faces of ``../shared/data/sample_faces`` (or ``--images DIR``).

Per batch size it prints the time (median of ``--repeats``) and peak memory of each stage:
inversion, generation, parsing of I and of T, the CAM passes of every mask variant (the six of
Figure 3 and the authors' code: two passes), fuse + blend (eq 10-11; the authors' code's Poisson
blending on the CPU, also on its own), deghosting (every variant), metrics (MAE; LPIPS and FID
with random-init AlexNet / Inception stand-ins of the same cost), the e4e and ReStyle baselines
(inversion + edited generation, Old and Smiling only); then, in the same run, the
attribute-major order (each attribute repeats the inversion, G(w), the parsing of I and E(I'))
against the image-major one that ``evaluate`` uses, end to end, as a ratio; and the projected
time of the paper's protocol (1000 images x 4 attributes x every method) on this device.
On CUDA it also measures how far TF32 and bf16 autocast move the CAM maps and the outputs from
float32, and what they save (paperlib runs float32: a reduced precision would be worth using only
where the maps stay within 1e-3).

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

from paperlib.method.attributes import TABLE_ATTRIBUTES
from paperlib.evaluation.cache import to_uint8
from paperlib.method.authors import authors_blend, resolved
from paperlib.evaluation.metrics import mae
from paperlib.method.diffnet import SourceEncoded
from paperlib.infra.workers import DEFAULT_WORKERS, check_workers, worker_pool
from paperlib.method.names import DEGHOST_IMAGES, check_deghost_images
from paperlib.method.pipeline import (AUTHORS_CODE, VARIANTS, blend_variant, classifier_input, deghost_batched,
                                       differential_cams, edit_variants, mask, prepare)
from paperlib.profiles.dry_run import random_networks
from paperlib.profiles.paper import baseline_editor, components
from paperlib.profiles.paper_data import read_image

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


def random_setup(device: str):
    """The paper profile's components and baseline editors with random-init networks (the dry run's)."""
    nets = random_networks(0)
    c = components(device, "eogi", psp=nets["psp"], classifier=nets["classifier"], parser=nets["parser"],
                   deghoster=nets["deghoster"], directions=nets["directions"])
    editors = {b: baseline_editor(nets[b], nets["interfacegan"], device=device) for b in ("e4e", "ReStyle")}
    return c, editors


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


NV = len(VARIANTS)


def stages(c, editors, photos: torch.Tensor, attribute: str, device: torch.device, repeats: int,
           workers: int = DEFAULT_WORKERS, deghost_images: int = DEGHOST_IMAGES) -> dict[str, tuple]:
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
    r[f"CAM passes ({NV} variants)"] = timed(lambda: differential_cams(c, recon, edited, attribute, variants,
                                                                       classifier=p.classifier), device, repeats)
    cams = r[f"CAM passes ({NV} variants)"][2]
    parsing_i, parsing_t = c.parse(photos), c.parse(edited)
    masks = {v: mask(cams[v], attribute, v, parsing_i, parsing_t) for v in variants}
    r[f"fuse + blend ({NV} variants)"] = timed(
        lambda: {v: blend_variant(edited, photos, masks[v], attribute, v, parsing_i, parsing_t) for v in variants},
        device, repeats)
    r["  of which Poisson (authors' code, CPU)"] = timed(
        lambda: authors_blend(edited, photos, masks[AUTHORS_CODE], parsing_i, parsing_t, attribute), device, repeats)
    with worker_pool(workers) as pool:
        r[f"  Poisson in {workers} worker threads"] = timed(
            lambda: resolved(authors_blend(edited, photos, masks[AUTHORS_CODE], parsing_i, parsing_t, attribute, pool)),
            device, repeats)
    blended = r[f"fuse + blend ({NV} variants)"][2]
    r[f"deghosting ({NV} variants)"] = timed(lambda: [c.deghost(f) for f in blended.values()], device, repeats)
    keyed = {(attribute, v): f for v, f in blended.items()}
    r[f"  batched deghosting ({NV} variants, <= {deghost_images} images a call)"] = timed(
        lambda: deghost_batched(c, keyed, deghost_images), device, repeats)
    metrics = stand_in_metrics(device)
    src01 = to_uint8(photos).permute(0, 3, 1, 2).float().div(255).to(device)
    outs01 = [to_uint8(f).permute(0, 3, 1, 2).float().div(255).to(device) for f in blended.values()]
    r[f"metrics (MAE, LPIPS, FID feat.), {NV + 1} outputs"] = timed(
        lambda: [metrics(o, src01) for o in outs01 + outs01[:1]], device, repeats)
    r["e4e + ReStyle (invert, edit; Old/Smiling only)"] = timed(
        lambda: [editors[b](photos, "Smiling") for b in ("e4e", "ReStyle")], device, repeats)
    return r


def orders(c, photos: torch.Tensor, attributes, device: torch.device) -> tuple[float, float]:
    """End-to-end seconds of the attribute-major and the image-major order (one run each)."""
    variants = tuple(VARIANTS)

    def attribute_major():
        return [edit_variants(c, photos, a, variants).outputs for a in attributes]

    def image_major():
        p = prepare(c, photos)
        return [edit_variants(c, p, a, variants).outputs for a in attributes]

    def once(fn) -> float:  # the stages above already warmed every network up
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        return time.perf_counter() - t

    return once(attribute_major), once(image_major)


#: The end-to-end modes: (CPU-side work in worker threads, deghosting batched across variants and attributes).
MODES: dict[str, tuple[bool, bool]] = {"sequential": (False, False), "overlapped": (True, False),
                                       "batched deghosting": (False, True), "overlapped + batched": (True, True)}


def end_to_end(c, editors, photos: torch.Tensor, attributes, device: torch.device, workers: int,
               deghost_images: int, n_chunks: int) -> float:
    """Wall seconds of :func:`paperlib.evaluation.evaluate.evaluate` (every method, ``n_chunks`` chunks
    of ``photos``' batch, outputs scored with same-cost random-init LPIPS / FID and written to a fresh
    cache with every output kept as a PNG), with ``workers`` threads for the CPU side and at most
    ``deghost_images`` images per deghosting call (the batch size: one call per variant, as before)."""
    import tempfile

    from paperlib.evaluation.evaluate import evaluate
    from paperlib.profiles import Setup

    b = photos.shape[0]
    n = b * n_chunks
    setup = Setup(profile="paper", components=c, n_images=n, load_sources=lambda idx: photos[[i % b for i in idx]],
                  baselines=editors, device=str(device), random_weights=True)
    with tempfile.TemporaryDirectory() as out:
        _sync(device)
        t = time.perf_counter()
        evaluate(setup, out, attributes=attributes, batch=b, keep_images=n, progress=False, fetch=False,
                 workers=workers, deghost_images=deghost_images, judges=())
        _sync(device)
        return time.perf_counter() - t


def device_seconds(r: dict, b: int, attributes, deghosting: str) -> float:
    """Seconds per chunk the networks work (every stage but the CPU's Poisson blending), from the
    stage times: the per-image part once, the per-attribute part per attribute, e4e and ReStyle for
    Old and Smiling; ``deghosting``: the stage of the deghosting mode."""
    shared = sum(r[k][0] for k in ("inversion", "generation G(w)", "parsing (I or T)", "encoding E(I'), 6 views"))
    per_attr = (sum(r[k][0] for k in ("generation G(w)", "parsing (I or T)", f"CAM passes ({NV} variants)",
                                      f"metrics (MAE, LPIPS, FID feat.), {NV + 1} outputs"))
                + r[f"fuse + blend ({NV} variants)"][0] - r["  of which Poisson (authors' code, CPU)"][0]
                + r[deghosting][0])
    baselines = r["e4e + ReStyle (invert, edit; Old/Smiling only)"][0] * sum(a in ("Old", "Smiling") for a in attributes)
    return shared + len(attributes) * per_attr + baselines


def precision_check(c, photos: torch.Tensor, attribute: str, device: torch.device) -> dict[str, tuple]:
    """CUDA only: per mode (TF32; bf16 autocast), max |CAM map - float32| over the variants, max
    |output - float32|, and the seconds of one whole edit against float32's."""
    prev = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    variants = tuple(v for v in VARIANTS if v != AUTHORS_CODE)  # 8-bit Poisson would blur the comparison

    def run(tf32: bool, bf16: bool):
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            e = edit_variants(c, photos, attribute, variants)  # warm-up, then timed
            _sync(device)
            t = time.perf_counter()
            e = edit_variants(c, photos, attribute, variants)
            _sync(device)
        return e, time.perf_counter() - t

    try:
        ref, t_ref = run(False, False)
        out = {}
        for name, tf32, bf16 in (("TF32", True, False), ("bf16 autocast", False, True)):
            try:
                e, t = run(tf32, bf16)
            except RuntimeError as err:  # a network that does not run in that precision
                print(f"{name}: failed: {str(err).splitlines()[0]}")
                continue
            out[name] = (max((e.cams[v].float() - ref.cams[v]).abs().max().item() for v in variants),
                         max((e.outputs[v].float() - ref.outputs[v]).abs().max().item() for v in variants),
                         t, t_ref)
        return out
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = prev


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--attributes", nargs="+", default=list(TABLE_ATTRIBUTES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help="worker threads of the overlapped modes (default: the cores, at most 8)")
    parser.add_argument("--deghost-images", type=int, default=DEGHOST_IMAGES,
                        help="images per deghosting call of the batched modes")
    parser.add_argument("--chunks", type=int, default=2, help="chunks per end-to-end run")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES),
                        help="end-to-end modes, side by side (default: all four)")
    parser.add_argument("--images", default=str(ROOT.parent / "shared" / "data" / "sample_faces"))
    args = parser.parse_args()
    try:
        check_workers(args.workers)
        check_deghost_images(args.deghost_images)
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    device = torch.device(args.device)
    files = sorted(Path(args.images).glob("*.jpg")) + sorted(Path(args.images).glob("*.png"))
    if not files:
        raise SystemExit(f"error: images: no .jpg/.png in {args.images}")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"# torch {torch.__version__}, {device.type} ({name}), threads {torch.get_num_threads()}, "
          f"random-init networks at official sizes, repeats {args.repeats}")
    c, editors = random_setup(args.device)
    with torch.inference_mode(False):
        for b in args.batches:
            photos = torch.stack([read_image(files[i % len(files)]) for i in range(b)]).to(device)
            r = stages(c, editors, photos, args.attributes[0], device, args.repeats, args.workers, args.deghost_images)
            print(f"\n## batch {b}\n\n| stage | s / batch | s / image | peak memory (GB) |\n|---|---|---|---|")
            for stage, (sec, peak, _) in r.items():
                print(f"| {stage} | {sec:.3f} | {sec / b:.3f} | {peak:.2f} |")
            shared = sum(r[k][0] for k in ("inversion", "generation G(w)", "parsing (I or T)",
                                           "encoding E(I'), 6 views"))
            per_attr = sum(r[k][0] for k in ("generation G(w)", "parsing (I or T)", f"CAM passes ({NV} variants)",
                                             f"fuse + blend ({NV} variants)", f"deghosting ({NV} variants)",
                                             f"metrics (MAE, LPIPS, FID feat.), {NV + 1} outputs"))
            baselines = r["e4e + ReStyle (invert, edit; Old/Smiling only)"][0]
            per_image = (shared + 4 * per_attr + 2 * baselines) / b
            print(f"\nfrom the stage times, 4 attributes: attribute-major {(4 * (shared + per_attr) + 2 * baselines) / b:.2f}"
                  f" s / image, image-major {per_image:.2f} s / image: "
                  f"{(4 * (shared + per_attr) + 2 * baselines) / (shared + 4 * per_attr + 2 * baselines):.2f}x")
            print(f"image-major, 4 attributes: {per_image:.2f} s / image ({1 / per_image:.3f} images/s); projected "
                  f"paper protocol (1000 images x 4 attributes, every method: pSp, e4e and ReStyle (Old, Smiling), "
                  f"EOGI, Diff-CAM++, the authors' code, 4 ablations): {1000 * per_image / 3600:.2f} h on this device")
            old, new = orders(c, photos, args.attributes, device)
            print(f"end to end, {len(args.attributes)} attributes x {NV} variants: attribute-major {old:.2f} s, "
                  f"image-major {new:.2f} s: {old / new:.2f}x")
            print(f"\nend to end (evaluate: {args.chunks} chunk(s) of {b}, {len(args.attributes)} attribute(s), every "
                  f"method, PNGs and cache written), {args.workers} worker threads, <= {args.deghost_images} images "
                  f"per batched deghosting call:\n\n| mode | wall s | images/s | device stages s | wall / device "
                  f"stages | device busy | projected protocol (h) |\n|---|---|---|---|---|---|---|")
            for mode in args.modes:
                overlap, batched = MODES[mode]
                wall = end_to_end(c, editors, photos, args.attributes, device, args.workers if overlap else 1,
                                  args.deghost_images if batched else b, args.chunks)
                deghosting = (next(k for k in r if k.startswith("  batched deghosting")) if batched
                              else f"deghosting ({NV} variants)")
                busy = args.chunks * device_seconds(r, b, args.attributes, deghosting)
                n = b * args.chunks
                # the protocol's 4 attributes: the wall time scaled by the stage times' ratio (the per-image part once)
                scale = device_seconds(r, b, TABLE_ATTRIBUTES, deghosting) / device_seconds(r, b, args.attributes,
                                                                                              deghosting)
                hours = 1000 * wall / n * scale / 3600
                print(f"| {mode} | {wall:.2f} | {n / wall:.3f} | {busy:.2f} | {wall / busy:.2f} | {busy / wall:.0%} "
                      f"| {hours:.2f} |")
            print("\n(device busy: the stage times of the networks, Poisson excluded, over the wall time: an estimate, "
                  "not a hardware counter; projected: 1000 images, the wall time scaled to the 4 attributes by the stage "
                  "times)")
            if device.type == "cuda":
                for name, (d_map, d_out, t, t_ref) in precision_check(c, photos, args.attributes[0], device).items():
                    print(f"{name} vs float32, one edit ({NV - 1} variants): max |CAM map diff| {d_map:.2e}, "
                          f"max |output diff| {d_out:.2e}, {t:.3f} s vs {t_ref:.3f} s "
                          f"({'within' if d_map <= 1e-3 else 'NOT within'} 1e-3)")


if __name__ == "__main__":
    main()
