"""Command line: ``python -m paperlib COMMAND`` (the top of the one-way import chain).

``reproduce`` (every notebook of a profile, with papermill), ``download`` (fetch and verify
pretrained weights and directions into ``$PAPERLIB_HOME``), ``doctor`` (versions, which assets
are ready, whether the ``paper`` profile can run), ``train`` (the differential classifier) and
``evaluate`` (Tables 1-3 and, where the profile has ground truth, its summary), ``leaderboard``
(every CAM combination against SynthFace's ground truth, :mod:`paperlib.evaluation.leaderboard`), ``check``
(regenerated numbers against the committed ones, :mod:`paperlib.evaluation.regen_check`), ``align``
(FFHQ-aligned faces of your own photos, :mod:`paperlib.photo.align`) and ``edit`` (your photo edited and
pasted back, :mod:`paperlib.photo.edit`).

This module only parses: each command's body is a function beside the work it does
(:func:`paperlib.teaching.reproduce.reproduce_command`, :func:`paperlib.infra.download.download_assets_command`,
:func:`paperlib.infra.doctor.doctor_command`, :func:`paperlib.profiles.train_command`,
:func:`paperlib.evaluation.evaluate.evaluate_command`, :func:`paperlib.evaluation.leaderboard.leaderboard_command`,
:func:`paperlib.evaluation.regen_check.main_check`, :func:`paperlib.photo.align.align_command`,
:func:`paperlib.photo.edit.edit_command`), called once after parsing; the torchrun frame of ``evaluate``
and ``leaderboard`` is :func:`paperlib.infra.distributed.on_ranks`.

Every command validates all of its arguments before any expensive work: a bad value exits
with status 2 and one line ``error: <argument>: <what is wrong>``, having created nothing. Parsing
imports no torch (nor dlib, cv2, matplotlib): the choices and defaults it shows come from torch-free
modules and each command imports what it needs after parsing, so ``--help`` and argument errors
answer at once (``tests/cli/test_cli.py``).
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from . import __version__
from .evaluation.methods import ALL_METHODS, MASK_METHODS, SLUG
from .method.attributes import ATTRIBUTES, TABLE_ATTRIBUTES
from .method.names import ARCHS
from .profiles import DEFAULTS, NAMES
from .teaching.reproduce import NOTEBOOKS


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


_OFFLINE_HELP = ("never touch the network: missing LPIPS / FID weights are not fetched, their cells say unavailable "
                 "with the reason (the same as PAPERLIB_OFFLINE=1)")


@contextmanager
def _offline(on: bool):
    """``--offline``: ``PAPERLIB_OFFLINE=1`` for the command (and the notebook kernels it starts,
    which inherit the environment) when ``on``; the environment as it was afterwards."""
    from .infra.assets import OFFLINE_ENV

    before = os.environ.get(OFFLINE_ENV)
    if on:
        os.environ[OFFLINE_ENV] = "1"
    try:
        yield
    finally:
        if on and before is None:
            os.environ.pop(OFFLINE_ENV, None)
        elif on:
            os.environ[OFFLINE_ENV] = before


# ------------------------------------------------------------------------------- download / doctor
def _download(args: argparse.Namespace) -> int:
    from .infra import assets
    from .infra.download import download_assets_command, downloadable

    if args.all and args.names:
        args.parser.error("give asset names or --all, not both")
    names = downloadable() if args.all else args.names
    if not names:
        args.parser.error(f"name one or more assets or use --all; known: {', '.join(assets.ASSETS)}")
    unknown = [n for n in names if n not in assets.ASSETS]
    if unknown:
        args.parser.error(f"unknown asset {', '.join(map(repr, unknown))}; known: {', '.join(assets.ASSETS)}")
    if args.from_file and len(names) != 1:
        args.parser.error("--from takes exactly one asset name")
    if args.from_file and not Path(args.from_file).is_file():
        args.parser.error(f"--from: {args.from_file} is not a file")
    return download_assets_command(names, all_assets=args.all, from_file=args.from_file, retries=args.retries,
                                   quiet=args.quiet)


def _doctor(args: argparse.Namespace) -> int:
    if args.celeba_hq is not None and not Path(args.celeba_hq).is_dir():
        args.parser.error(f"--celeba-hq: {args.celeba_hq} is not a folder")
    from .infra.doctor import doctor_command

    return doctor_command(verify=args.verify, celeba_root=args.celeba_hq, strict=args.strict)


def add_download_cli(sub) -> None:
    dl = sub.add_parser("download", help="fetch and verify pretrained weights / directions into $PAPERLIB_HOME",
                        description="Fetch, verify (HTML page, size, sha256, strict load) and cache assets. "
                                    "A file already in the cache is only verified. PAPERLIB_OFFLINE=1 forbids "
                                    "the network; PAPERLIB_MIRROR=URL fetches URL/<file name> instead.")
    dl.add_argument("names", nargs="*", metavar="NAME", help="asset names (see `python -m paperlib doctor`)")
    dl.add_argument("--all", action="store_true", help="every downloadable asset")
    dl.add_argument("--from", dest="from_file", metavar="FILE",
                    help="verify and copy a file you obtained yourself (e.g. in a browser) into the cache")
    dl.add_argument("--retries", type=_count, default=2, help="reconnections (with resume) per source (default 2)")
    dl.add_argument("--quiet", action="store_true", help="no progress bar")
    dl.set_defaults(func=_download, parser=dl)
    doc = sub.add_parser("doctor", help="versions, assets present and verified, can the paper profile run")
    doc.add_argument("--strict", action="store_true", help="exit 1 when the paper profile cannot run")
    doc.add_argument("--verify", action="store_true", help="re-hash and re-check every cached file (slow)")
    doc.add_argument("--celeba-hq", metavar="DIR", help="CelebA-HQ image folder (default $PAPERLIB_CELEBA_HQ)")
    doc.set_defaults(func=_doctor, parser=doc)


# ------------------------------------------------------------------------------------------ train
def add_train_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("train", help="train the differential classifier (DiffNet) of a profile",
                              description="Train EOGI's differential classifier with the paper's recipe "
                                          "(Adam 1e-4 cosine to 1e-7, batch 20); resumes from out/checkpoint.pt. "
                                          "The run folder is locked while training.")
    p.add_argument("--profile", choices=NAMES, default="synthetic")
    p.add_argument("--steps", type=_positive, default=None, help="training steps (default: synthetic "
                   f"{DEFAULTS['synthetic']['steps']}, paper {DEFAULTS['paper']['steps']})")
    p.add_argument("--out", default=None, help="output directory (default: runs/diffnet-PROFILE under the project root, "
                                                    "$PAPERLIB_ROOT or the checkout)")
    p.add_argument("--seed", type=_count, default=0)
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: synthetic cpu, paper cuda "
                                                   "when available)")
    p.add_argument("--arch", choices=tuple(ARCHS), default=None,
                   help="ResNet depth (default: synthetic resnet18, paper resnet101)")
    p.add_argument("--size", type=_positive, default=None, help="pair image size (default: synthetic 128, paper 256)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    p.add_argument("--data", default=None, help="paper profile: folder of face images to invert")
    p.add_argument("--directions", default=None,
                   help="paper profile: folder of EOGI's <attribute>.npy directions (default: the cached assets)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)
    return p


def _train(args: argparse.Namespace) -> int:
    from .profiles import train_command

    return train_command(args.profile, steps=args.steps, out=args.out, seed=args.seed, device=args.device,
                         arch=args.arch, size=args.size, fresh=args.fresh, data=args.data,
                         directions=args.directions, quiet=args.quiet)


# --------------------------------------------------------------------------------------- evaluate
def add_evaluate_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand on an ``argparse`` subparsers object."""
    p = subparsers.add_parser(
        "evaluate", help="regenerate Tables 1-3 (LPIPS, MAE, FID) of a profile",
        description="Run every method on the first N images, compute MAE / LPIPS / FID, and write "
                    "table{1,2,3}_*.csv/.json and tables.md (and, for synthetic, localization.*). "
                    "Per-image outputs are cached under OUT/cache; an interrupted run resumes. OUT is locked "
                    "while the evaluation writes it. Under torchrun (e.g. `torchrun --standalone --nproc_per_node 2 "
                    "-m paperlib evaluate ...`) each rank computes every world_size-th batch and rank 0 writes the "
                    "tables; --device cuda means cuda:LOCAL_RANK.")
    p.add_argument("--profile", choices=NAMES, default="synthetic")
    p.add_argument("--n-images", type=_positive, default=None,
                   help=f"first N images (default: paper {DEFAULTS['paper']['n_images']}, "
                        f"synthetic {DEFAULTS['synthetic']['n_images']})")
    p.add_argument("--device", default=None, help="paper profile: cpu, cuda, ... (default: cuda when available); "
                                                   "the synthetic profile runs on the CPU")
    p.add_argument("--out", default=None, help="output directory (default: runs/eval-PROFILE under the project root, "
                                                    "$PAPERLIB_ROOT or the checkout)")
    p.add_argument("--batch", type=_positive, default=None, help="images per batch (default: paper 4, synthetic 10)")
    p.add_argument("--attributes", nargs="+", default=list(TABLE_ATTRIBUTES), metavar="ATTR",
                   help=f"default: {' '.join(TABLE_ATTRIBUTES)}")
    p.add_argument("--methods", nargs="+", default=list(ALL_METHODS), metavar="METHOD",
                   help="method names or their slugs (default: all): "
                        + ", ".join(f"{SLUG[m]} ({m})" for m in ALL_METHODS))
    p.add_argument("--alpha", type=float, default=20.0)
    p.add_argument("--seed", type=_count, default=0, help="synthetic profile: seed of the faces")
    p.add_argument("--classifier", default=None,
                   help="synthetic profile: trained DiffNet (default runs/diffnet-synthetic/diffnet.pt under the "
                        "project root, trained if missing)")
    p.add_argument("--celeba-hq", default=None, help="paper profile: CelebA-HQ folder (default $PAPERLIB_CELEBA_HQ)")
    p.add_argument("--interfacegan-factor", type=float, default=None,
                   help="paper profile: step along the InterFaceGAN directions for e4e / ReStyle")
    p.add_argument("--generation", choices=("eogi", "fixed"), default=None,
                   help="paper profile: eogi (default; EOGI's code: fresh StyleGAN noise per generation, seeded by "
                        "each image's code, output unclamped into classifier and blend) or fixed (stored noise, "
                        "clamped)")
    p.add_argument("--keep-images", type=_count, default=None,
                   help="keep the outputs of the first K images as PNGs under OUT/cache/images (default 10); "
                        "every image's metric values and FID features are cached either way")
    p.add_argument("--workers", type=int, default=None,
                   help="threads for the CPU-side work (the authors' code's Poisson blending, PNG encoding, cache "
                        "writes) while the networks compute the next chunk; 1 runs it inline; no output changes "
                        "(default: the cores, at most 8)")
    p.add_argument("--deghost-images", type=int, default=None,
                   help="deghosting budget: images per call of the deghosting network (every variant of every "
                        "attribute of a chunk goes through it together, split by this; default 16, ~24 GB at 1024²)")
    p.add_argument("--render-only", action="store_true", help="compute nothing; render the tables from the cache")
    p.add_argument("--fresh", action="store_true", help="delete the cache of OUT first")
    p.add_argument("--offline", action="store_true", help=_OFFLINE_HELP)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate)
    return p


def _evaluate(args: argparse.Namespace) -> int:
    from .evaluation.methods import KEEP_IMAGES, check_arguments
    from .infra.workers import DEFAULT_WORKERS, check_workers
    from .method.names import DEGHOST_IMAGES, check_deghost_images

    args.workers = DEFAULT_WORKERS if args.workers is None else args.workers
    args.deghost_images = DEGHOST_IMAGES if args.deghost_images is None else args.deghost_images
    try:  # the cheap checks first, so that a bad value answers at once
        check_arguments(args.attributes, args.methods, args.alpha, args.batch or 1,
                        KEEP_IMAGES if args.keep_images is None else args.keep_images)
        check_workers(args.workers)
        check_deghost_images(args.deghost_images)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from .evaluation.evaluate import evaluate_command

    with _offline(args.offline):
        return evaluate_command(args.profile, n_images=args.n_images, device=args.device, out=args.out,
                                batch=args.batch, attributes=args.attributes, methods=args.methods, alpha=args.alpha,
                                seed=args.seed, classifier=args.classifier, celeba_hq=args.celeba_hq,
                                interfacegan_factor=args.interfacegan_factor, generation=args.generation,
                                keep_images=args.keep_images, render_only=args.render_only, fresh=args.fresh,
                                quiet=args.quiet, workers=args.workers, deghost_images=args.deghost_images)


# ------------------------------------------------------------------------------------ leaderboard
def add_leaderboard_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``leaderboard`` subcommand (:mod:`paperlib.evaluation.leaderboard`)."""
    p = subparsers.add_parser(
        "leaderboard", help="score every CAM method x layer x post-processing x segmentation against ground truth",
        description="On the first N SynthFace faces and every attribute, score each CAM combination's mask against "
                    "the region the attribute changes (IoU, precision, recall, damage outside, edit lost inside, "
                    "time per image) and write leaderboard.csv/.json/.md. Per-chunk results are cached under "
                    "OUT/cache; an interrupted run resumes. OUT is locked while it is written.")
    p.add_argument("--profile", choices=NAMES, default="synthetic",
                   help="synthetic (the only profile with ground-truth edit regions)")
    p.add_argument("--n-images", type=_positive, default=None,
                   help=f"first N faces (default {DEFAULTS['synthetic']['n_images']})")
    p.add_argument("--out", default=None, help="output directory (default: runs/leaderboard-synthetic under the "
                                               "project root)")
    p.add_argument("--batch", type=_positive, default=None,
                   help=f"faces per chunk (default {DEFAULTS['synthetic']['batch']})")
    p.add_argument("--classifier", default=None,
                   help="trained DiffNet (default runs/diffnet-synthetic/diffnet.pt under the project root, trained "
                        "if missing)")
    p.add_argument("--cams", nargs="+", default=None, metavar="CAM",
                   help="the CAMs to score (default: every paperlib CAM and every pytorch-grad-cam method but "
                        "Score-CAM, Ablation-CAM and the library's TTA variants, which are slow; "
                        "paperlib.evaluation.leaderboard.CAMS and LIBRARY_CAMS name them)")
    p.add_argument("--layers", nargs="+", default=None, metavar="LAYER",
                   help="the CAM layers (default: layer4 and its block before last for paperlib's CAMs, layer4 for "
                        "the library's)")
    p.add_argument("--rank-by", default="iou", metavar="COLUMN",
                   help="the column the tables are ranked by: iou (default), pointing, energy, edit_kept, precision, "
                        "recall, mae_outside, mae_inside, time_ms (these three lowest first) or iou_share")
    p.add_argument("--fresh", action="store_true", help="delete the cache of OUT first")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_leaderboard)
    return p


def _leaderboard(args: argparse.Namespace) -> int:
    from .evaluation.leaderboard import leaderboard_command

    return leaderboard_command(args.profile, n_images=args.n_images, out=args.out, batch=args.batch,
                               classifier=args.classifier, fresh=args.fresh, quiet=args.quiet, cams=args.cams,
                               layers=args.layers, rank_by=args.rank_by)


# -------------------------------------------------------------------------------------- reproduce
def add_reproduce_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``reproduce`` on an ``argparse`` subparsers object."""
    p = subparsers.add_parser("reproduce", help="run every notebook of a profile end to end (papermill)")
    p.add_argument("--profile", choices=NAMES, default="synthetic")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda for paper, cpu for synthetic)")
    p.add_argument("--smoke", action="store_true", help="tiny sizes (what CI runs); outputs under runs/smoke/")
    p.add_argument("--out-dir", default="", help="figures/tables/sidecars folder (default figures/<profile> under the "
                                                         "project root)")
    p.add_argument("--only", nargs="+", choices=NOTEBOOKS, help="run only these notebooks")
    p.add_argument("--random-weights", action="store_true",
                   help="paper profile: a dry run at the official sizes with random-init networks (built, never "
                        "loaded; nothing to download) on --images; every output says RANDOM WEIGHTS and goes under "
                        "runs/random-weights/, never figures/")
    p.add_argument("--images", default="", help="paper profile: a folder of 1024² face photos instead of CelebA-HQ "
                                                "(required with --random-weights)")
    p.add_argument("--n-images", type=_positive, default=None,
                   help="dry run: images of the evaluation (Tables 1-3); the figures use at most their own counts")
    p.add_argument("--steps", type=_positive, default=None, help="dry run: training steps of notebook 01 (default 2)")
    p.add_argument("--attributes", nargs="+", default=(), metavar="ATTR",
                   help="dry run: every notebook's attributes (default: each notebook's own)")
    p.add_argument("--methods", nargs="+", default=(), metavar="METHOD",
                   help="dry run: the methods of the tables (names or slugs; default all)")
    p.add_argument("--check", action="store_true",
                   help="regenerate into runs/check/figures/PROFILE (or --out-dir; never figures/) and compare every "
                        "number with the committed figures/PROFILE: exit 1 when one is outside its SE-derived "
                        "tolerance (see `python -m paperlib check --help`)")
    p.add_argument("--outside-only", action="store_true", help="with --check: print only the numbers outside")
    p.add_argument("--offline", action="store_true", help=_OFFLINE_HELP + "; also in the notebooks' kernels")
    p.set_defaults(func=_reproduce)
    return p


def _reproduce(args: argparse.Namespace) -> int:
    from .teaching.reproduce import reproduce_command

    with _offline(args.offline):
        return reproduce_command(args.profile, device=args.device, smoke=args.smoke, out_dir=args.out_dir,
                                 only=args.only, random_weights=args.random_weights, images=args.images,
                                 n_images=args.n_images, steps=args.steps, attributes=tuple(args.attributes),
                                 methods=tuple(args.methods), check=args.check, outside_only=args.outside_only)


# ------------------------------------------------------------------------------------------ check
def add_check_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``check`` (compare regenerated figures/tables/sidecars with committed ones)."""
    p = subparsers.add_parser(
        "check", help="compare regenerated sidecars and tables with the committed ones, number by number",
        description="Every number of the committed folder's .json/.csv/.md files against the regenerated folder's, "
                    "with tolerance k*sqrt(se_committed^2 + se_regenerated^2): SE = sd/sqrt(n-1) of a mean over n "
                    "images, a stored <key>_se, or for one face's number (N=1) the per-image sd of its table row, else the "
                    "sd over the figures' faces; k is "
                    "Bonferroni's two-sided normal quantile at family-wise 5 %. Integers, settings and numbers "
                    "without an SE must be equal. Exit 1 when a number is outside or missing.")
    p.add_argument("regenerated", metavar="REGENERATED_DIR", help="folder of regenerated outputs "
                                                                   "(e.g. runs/check/figures/synthetic)")
    p.add_argument("--against", default="figures/synthetic", help="committed folder (default figures/synthetic)")
    p.add_argument("--outside-only", action="store_true", help="print only the numbers outside (and the summary)")
    p.set_defaults(func=_check)
    return p


def _check(args: argparse.Namespace) -> int:
    from .evaluation.regen_check import main_check

    try:
        return main_check(args.regenerated, args.against, args.outside_only)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------------------------------- edit
def add_edit_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``edit`` (align your own photos, edit with the paper profile's networks, paste back)."""
    p = subparsers.add_parser(
        "edit", help="align your own photos (FFHQ), edit each face with the paper profile's networks, paste it back",
        description="Per face: <name>_aligned.png, <name>_edit.png (T), <name>_result.png (the method's output), "
                    "<name>_mask.png (M), <name>_pasted.png (the photo with the result pasted back through the "
                    "feathered mask: every other pixel untouched) and <name>_edit.json (transform, settings).")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photo files (any format Pillow reads) or folders")
    p.add_argument("--attribute", required=True, choices=ATTRIBUTES)
    p.add_argument("--alpha", type=float, default=20.0, help="edit strength along EOGI's direction (default 20)")
    # the methods with a mask, paperlib.photo.edit.EDIT_METHODS (= tuple(MASK_METHODS)), whose module imports numpy
    p.add_argument("--method", default="Diff-CAM++", help=f"one of {', '.join(MASK_METHODS)} (or its slug; "
                                                          "default Diff-CAM++)")
    p.add_argument("--out", default=None, help="output folder (default runs/edit under the project root; "
                                               "runs/random-weights/edit with --random-weights)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--random-weights", action="store_true",
                   help="a dry run: random-init networks at the official sizes (nothing to download); every file "
                        "says RANDOM WEIGHTS")
    p.add_argument("--seed", type=_count, default=0, help="with --random-weights: seed of the networks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_edit)
    return p


def _edit(args: argparse.Namespace) -> int:
    from .photo.edit import edit_command

    return edit_command(args.photos, args.attribute, alpha=args.alpha, method=args.method, out=args.out,
                        device=args.device, random_weights=args.random_weights, seed=args.seed, quiet=args.quiet)


# ------------------------------------------------------------------------------------------ align
_ALIGN_DESCRIPTION = (
    "Find every face (dlib HOG, CNN fallback), its 68 landmarks, and write OUT/<name>.png (the largest face), "
    "<name>_1.png ... (further faces) with <name>.json etc. (the transform). Every photo is checked (readable "
    "image, size) before any work: exit 2. A photo without a usable face is reported and skipped; the others "
    "are written; exit 1 at the end when one was skipped.")


def add_align_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``align`` (FFHQ-align the faces of photos into 1024² PNGs + transform JSONs)."""
    help_text = "FFHQ-align every face of photos (what pSp / e4e / ReStyle expect)"
    p = subparsers.add_parser("align", help=help_text, description=_ALIGN_DESCRIPTION)
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="image files, or folders of them")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--size", type=_positive, default=1024, help="aligned size (default 1024)")
    p.add_argument("--max-pixels", type=_positive, default=None,
                   help="refuse photos with more pixels (default 50000000, read from the header)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_align)
    return p


def _align(args: argparse.Namespace) -> int:
    from .photo.align import align_command

    return align_command(args.photos, args.out, size=args.size, max_pixels=args.max_pixels, quiet=args.quiet)


# ------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperlib", description="Diff-CAM++ companion.")
    parser.add_argument("--version", action="version", version=f"paperlib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_reproduce_cli(sub)
    add_download_cli(sub)
    add_train_cli(sub)
    add_evaluate_cli(sub)
    add_leaderboard_cli(sub)
    add_check_cli(sub)
    add_align_cli(sub)
    add_edit_cli(sub)
    args = parser.parse_args(argv)
    return args.func(args)


__all__ = ["main", "add_train_cli", "add_evaluate_cli", "add_leaderboard_cli", "add_reproduce_cli",
           "add_download_cli", "add_check_cli", "add_align_cli", "add_edit_cli"]
