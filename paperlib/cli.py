"""Command line: ``python -m paperlib COMMAND`` (the top of the one-way import chain).

``reproduce`` (every notebook of a profile, with papermill), ``download`` (fetch and verify
pretrained weights and directions into ``$PAPERLIB_HOME``), ``doctor`` (versions, which assets
are ready, whether the ``paper`` profile can run), ``train`` (the differential classifier) and
``evaluate`` (Tables 1-3 and, where the profile has ground truth, its summary), ``leaderboard``
(every CAM combination against SynthFace's ground truth, :mod:`paperlib.evaluation.leaderboard`), ``check``
(regenerated numbers against the committed ones, :mod:`paperlib.evaluation.regen_check`), ``align``
(FFHQ-aligned faces of your own photos, :mod:`paperlib.photo.align`) and ``edit`` (your photo edited and
pasted back, :mod:`paperlib.photo.edit`).

Every command validates all of its arguments before any expensive work: a bad value exits
with status 2 and one line ``error: <argument>: <what is wrong>``, having created nothing. Heavy
modules are imported inside the commands, so ``--help`` and argument errors stay fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__
from .infra.paths import under_root
from .profiles import DEFAULTS, NAMES


class _Failed(Exception):
    """An error to print as one line (status 2)."""


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def _out_folder(path: str | None, default: Path | None = None) -> Path:
    """An output folder that is not a file and whose nearest existing parent is writable: ``path``
    (relative to the current folder) or ``default``."""
    import os

    folder = Path(path) if path else default
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out: {folder} exists and is not a folder")
    parent = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write into {parent} (permissions)")
    return folder


def _device(requested: str | None, profile: str) -> str:
    """The device a command runs on: the requested one (checked), else the profile's default when
    available (cuda for the paper profile, else cpu)."""
    from .checks import check_device

    if requested is not None:
        check_device(requested)
        return requested
    import torch

    default = DEFAULTS[profile]["device"]
    return default if default == "cpu" or torch.cuda.is_available() else "cpu"


# ------------------------------------------------------------------------------- download / doctor
def _download(args: argparse.Namespace) -> int:
    from .infra import assets
    from .infra.download import AssetError, download, downloadable

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
    failed = 0
    for name in names:
        try:
            path = download(name, quiet=args.quiet, retries=args.retries, from_file=args.from_file)
        except (AssetError, FileNotFoundError) as err:
            failed += 1
            print(f"{name}: FAILED: {err}", file=sys.stderr)
            continue
        rec = assets.read_records().get(assets.resolve(name).name, {})
        sha = rec.get("sha256", "?")
        inside = f" (the generator is read from {path.name})" if assets.get(name).alias_of else ""
        print(f"{name}: ok {path}{inside}; verified: {rec.get('verified', '?')}; sha256 {sha}")
        if not (assets.resolve(name).sha256):
            print(f"{name}: no full sha256 is published; recorded {sha} in {assets.home() / assets.RECORDS}")
    if args.all:
        print(f"celeba-hq is not downloaded: set {assets.CELEBA_ENV} to your CelebA-HQ folder "
              "(check with `python -m paperlib doctor`)")
    return 1 if failed else 0


def _doctor(args: argparse.Namespace) -> int:
    from .infra.doctor import doctor

    if args.celeba_hq is not None and not Path(args.celeba_hq).is_dir():
        args.parser.error(f"--celeba-hq: {args.celeba_hq} is not a folder")
    ready, lines = doctor(verify=args.verify, celeba_root=args.celeba_hq)
    print(f"paperlib {__version__}")
    print("\n".join(lines))
    return 1 if (args.strict and not ready) else 0


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
    from .method.diffnet import ARCHS

    p.add_argument("--arch", choices=tuple(ARCHS), default=None,
                   help="ResNet depth (default: synthetic resnet18, paper resnet101)")
    p.add_argument("--size", type=_positive, default=None, help="pair image size (default: synthetic 128, paper 256)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start over")
    p.add_argument("--data", default=None, help="paper profile: folder of face images to invert")
    p.add_argument("--directions", default=None,
                   help="paper profile: folder of EOGI's <attribute>.npy directions (default: the cached assets)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train_command)
    return p


def _train_command(args: argparse.Namespace) -> int:
    from .checks import check_readable_folder
    from .infra.locks import FolderBusy
    from .method.train import TrainConfig

    defaults = DEFAULTS[args.profile]
    try:
        device = _device(args.device, args.profile)
        out = _out_folder(args.out, under_root("runs", f"diffnet-{args.profile}"))
        for name in ("data", "directions"):
            if getattr(args, name) is not None:
                check_readable_folder(name, getattr(args, name))
        config = TrainConfig(steps=defaults["steps"] if args.steps is None else args.steps, seed=args.seed,
                             arch=args.arch or defaults["arch"], device=device, out_dir=out)
        from . import profiles
        from .method.train import train

        source = profiles.pair_source(args.profile, size=args.size, seed=args.seed, data=args.data,
                                      directions=args.directions, device=device)
        result = train(config, source, resume=not args.fresh, progress=not args.quiet)
    except (ValueError, FileNotFoundError, FolderBusy) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"trained {config.arch} for {result.steps} steps in {result.wall_time_s:.0f} s; held-out accuracy "
          f"{result.heldout_accuracy:.3f}; weights {result.weights_path}, summary {result.sidecar_path}")
    return 0


# --------------------------------------------------------------------------------------- evaluate
def add_evaluate_cli(subparsers) -> argparse.ArgumentParser:
    """Register the ``evaluate`` subcommand on an ``argparse`` subparsers object."""
    from .method.attributes import TABLE_ATTRIBUTES
    from .evaluation.methods import ALL_METHODS, SLUG

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
    p.add_argument("--render-only", action="store_true", help="compute nothing; render the tables from the cache")
    p.add_argument("--fresh", action="store_true", help="delete the cache of OUT first")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate_command)
    return p


def _evaluate_command(args: argparse.Namespace) -> int:
    from .evaluation.evaluate import KEEP_IMAGES, check_arguments, evaluate

    d = DEFAULTS[args.profile]
    n_images = args.n_images or d["n_images"]
    batch = args.batch or d["batch"]
    keep = KEEP_IMAGES if args.keep_images is None else args.keep_images

    def check() -> tuple[str, Path, dict]:
        check_arguments(args.attributes, args.methods, args.alpha, batch, keep)
        device = _device(args.device, args.profile)
        out = _out_folder(args.out, under_root("runs", f"eval-{args.profile}"))
        return device, out, _evaluate_options(args, n_images, device)

    def work(setup, out: Path, dist, progress: bool):
        return evaluate(setup, out, attributes=args.attributes, methods=args.methods, alpha=args.alpha,
                        batch=batch, keep_images=keep, render_only=args.render_only, fresh=args.fresh,
                        progress=progress, dist=dist)

    rc, dist, (setup, result) = _on_ranks("evaluate", args.profile, check, work)
    if rc or not dist.is_main:
        return rc
    t = result.timings
    ranks = f" on {result.world_size} processes" if result.world_size > 1 else ""
    print(f"evaluate {args.profile}: {n_images} images{ranks}; {result.batches_computed} batches computed, "
          f"{result.batches_cached} from the cache; {t['total_s']:.1f} s (images and metrics {t['generate_s']:.1f} s, "
          f"tables {t['render_s']:.1f} s)")
    print(f"wrote {', '.join(str(p) for p in result.files)}")
    return 0


def _on_ranks(purpose: str, profile: str, check, work):
    """The frame of a command that runs under ``torchrun`` too (``evaluate``, ``leaderboard``):
    ``check()`` -> ``(device, out, options)`` and the profile's own checks, every rank the same, before
    torch.distributed starts; then torch.distributed (a single process outside torchrun), rank 0 holding
    OUT's lock and building the setup first (it may train the synthetic classifier), and
    ``work(setup, out, dist, progress)`` on every rank. Returns ``(status, dist, (setup, result))``:
    status 2 after the one-line error (printed by the rank that should, :func:`_prints_error`)."""
    from .infra import distributed
    from . import profiles
    from .infra.locks import FolderBusy

    dist, checked = distributed.Dist(), False
    try:
        device, out, options = check()
        profiles.check(profile, **options)
        checked = True
        dist = distributed.init(device)
        options["progress"] = options["progress"] and dist.is_main
        if "device" in options:
            options["device"] = dist.device(device)
        with distributed.main_lock(dist, out, purpose):  # before the setup, which may train a classifier for minutes
            setup = dist.main_first(lambda: profiles.get(profile, **options))
            return 0, dist, (setup, work(setup, out, dist, options["progress"]))
    except (ValueError, FileNotFoundError, FolderBusy) as err:
        if _prints_error(dist, err, checked):
            print(f"error: {err}", file=sys.stderr)
        return 2, dist, (None, None)
    finally:
        dist.close()


def _prints_error(dist, err: Exception, checked: bool) -> bool:
    """Whether this process prints ``err``: rank 0 always; another rank only an error of its own,
    not one every rank raised (a bad argument, found before torch.distributed starts: ``checked``
    False; rank 0's error shared with the others)."""
    import os

    if not checked:
        return os.environ.get("RANK", "0") == "0"
    return dist.is_main or not getattr(err, "from_main", False)


def _evaluate_options(args: argparse.Namespace, n_images: int, device: str) -> dict:
    """The profile options of an ``evaluate`` command line."""
    options = {"n_images": n_images, "device": device, "seed": args.seed, "progress": not args.quiet}
    if args.classifier is not None:
        options["classifier_path"] = args.classifier
    if args.celeba_hq is not None:
        options["celeba_root"] = args.celeba_hq
    if args.interfacegan_factor is not None:
        options["interfacegan_factor"] = args.interfacegan_factor
    if args.generation is not None:
        options["generation"] = args.generation
    return options


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
    p.add_argument("--fresh", action="store_true", help="delete the cache of OUT first")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_leaderboard_command)
    return p


def _leaderboard_command(args: argparse.Namespace) -> int:
    d = DEFAULTS["synthetic"]

    def check() -> tuple[str, Path, dict]:
        if args.profile != "synthetic":
            raise ValueError(f"profile: the {args.profile} profile has no ground-truth edit regions; the leaderboard "
                             "runs on --profile synthetic")
        out = _out_folder(args.out, under_root("runs", f"leaderboard-{args.profile}"))
        options = {"n_images": args.n_images or d["n_images"], "progress": not args.quiet}
        if args.classifier is not None:
            options["classifier_path"] = args.classifier
        return "cpu", out, options

    def work(setup, out: Path, dist, progress: bool):
        from .evaluation.leaderboard import leaderboard

        return leaderboard(setup, out, batch=args.batch or d["batch"], fresh=args.fresh, progress=progress, dist=dist)

    rc, dist, (setup, result) = _on_ranks("leaderboard", args.profile, check, work)
    if rc or not dist.is_main:
        return rc
    ranks = f" on {dist.world_size} processes" if dist.world_size > 1 else ""
    print(f"leaderboard {args.profile}: {setup.n_images} faces{ranks}; {result.chunks_computed} chunks computed, "
          f"{result.chunks_cached} from the cache; {result.seconds:.1f} s")
    print(f"wrote {', '.join(str(p) for p in result.files)}")
    return 0


# -------------------------------------------------------------------------------------- reproduce
def add_reproduce_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``reproduce`` on an ``argparse`` subparsers object."""
    from .teaching.reproduce import NOTEBOOKS

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
    p.add_argument("--check", action="store_true",
                   help="regenerate into runs/check/figures/PROFILE (or --out-dir; never figures/) and compare every "
                        "number with the committed figures/PROFILE: exit 1 when one is outside its SE-derived "
                        "tolerance (see `python -m paperlib check --help`)")
    p.add_argument("--outside-only", action="store_true", help="with --check: print only the numbers outside")
    p.set_defaults(func=_reproduce_command)
    return p


def _reproduce_command(args: argparse.Namespace) -> int:
    from .teaching.reproduce import NOTEBOOKS, NotebookFailed, reproduce, reproduce_and_check

    try:
        device = args.device or DEFAULTS[args.profile]["device"]
        if args.out_dir:
            _out_folder(args.out_dir)
        if args.outside_only and not args.check:
            raise ValueError("outside-only: only with --check")
        if args.check:
            if args.smoke or args.random_weights or args.images or args.n_images or args.steps or args.attributes:
                raise ValueError("check: compares a full run with the committed figures; drop --smoke, "
                                 "--random-weights, --images, --n-images, --steps and --attributes")
            return reproduce_and_check(args.profile, device=device, out_dir=args.out_dir,
                                       notebooks=tuple(args.only) if args.only else NOTEBOOKS,
                                       only_outside=args.outside_only)
        reproduce(args.profile, device=device, smoke=args.smoke, out_dir=args.out_dir,
                  notebooks=tuple(args.only) if args.only else NOTEBOOKS, random_weights=args.random_weights,
                  images=args.images, n_images=args.n_images, steps=args.steps, attributes=tuple(args.attributes))
    except (NotebookFailed, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


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
    p.set_defaults(func=_check_command)
    return p


def _check_command(args: argparse.Namespace) -> int:
    from .evaluation.regen_check import main_check

    try:
        return main_check(args.regenerated, args.against, args.outside_only)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


# ------------------------------------------------------------------------------------------- edit
def add_edit_cli(subparsers) -> argparse.ArgumentParser:
    """Register ``edit`` (align your own photos, edit with the paper profile's networks, paste back)."""
    from .method.attributes import ATTRIBUTES
    from .photo.edit import EDIT_METHODS

    p = subparsers.add_parser(
        "edit", help="align your own photos (FFHQ), edit each face with the paper profile's networks, paste it back",
        description="Per face: <name>_aligned.png, <name>_edit.png (T), <name>_result.png (the method's output), "
                    "<name>_mask.png (M), <name>_pasted.png (the photo with the result pasted back through the "
                    "feathered mask: every other pixel untouched) and <name>_edit.json (transform, settings).")
    p.add_argument("photos", nargs="+", metavar="PHOTO", help="photo files (any format Pillow reads) or folders")
    p.add_argument("--attribute", required=True, choices=ATTRIBUTES)
    p.add_argument("--alpha", type=float, default=20.0, help="edit strength along EOGI's direction (default 20)")
    p.add_argument("--method", default="Diff-CAM++", help=f"one of {', '.join(EDIT_METHODS)} (or its slug; "
                                                          "default Diff-CAM++)")
    p.add_argument("--out", default=None, help="output folder (default runs/edit under the project root; "
                                               "runs/random-weights/edit with --random-weights)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--random-weights", action="store_true",
                   help="a dry run: random-init networks at the official sizes (nothing to download); every file "
                        "says RANDOM WEIGHTS")
    p.add_argument("--seed", type=_count, default=0, help="with --random-weights: seed of the networks")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_edit_command)
    return p


def _edit_command(args: argparse.Namespace) -> int:
    from .photo.edit import check_edit_arguments, edit_photos

    try:
        check_edit_arguments(args.photos, args.attribute, args.alpha, args.method)
        device = _device(args.device, "paper")
        default = under_root("runs", "random-weights", "edit") if args.random_weights else under_root("runs", "edit")
        out = _out_folder(args.out, default)
        files, skipped = edit_photos(args.photos, args.attribute, out, alpha=args.alpha, method=args.method,
                                     device=device, random_weights=args.random_weights, seed=args.seed,
                                     progress=not args.quiet)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"edit {args.attribute}: wrote {len(files)} files into {out}")
    if skipped:
        print(f"error: {len(skipped)} photo(s) skipped (see above)", file=sys.stderr)
    return 1 if skipped else 0


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
    p.set_defaults(func=_align_command)
    return p


def _align_command(args: argparse.Namespace) -> int:
    try:
        if args.size < 16:
            raise ValueError(f"size: expected at least 16, got {args.size}")
        out = _out_folder(args.out)
        from .infra.images import MAX_PIXELS, photo_files

        max_pixels = args.max_pixels or MAX_PIXELS
        files = photo_files(args.photos, max_pixels)
        from tqdm.auto import tqdm

        from .photo.align import align_photo
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    skipped, written = [], 0
    for f in tqdm(files, desc="align", unit="photo", disable=args.quiet):
        try:
            faces = align_photo(f, size=args.size, source=f"PHOTO: {f}", max_pixels=max_pixels)
        except ValueError as err:
            skipped.append(str(err))
            tqdm.write(f"skipped: {err}", file=sys.stderr)
            continue
        for i, face in enumerate(faces):
            face.source = str(f)  # the file, not the label of the messages
            name = f.stem if i == 0 else f"{f.stem}_{i}"
            Image.fromarray(face.image).save(out / f"{name}.png")
            (out / f"{name}.json").write_text(face.to_json())
            written += 1
    print(f"aligned {written} face(s) from {len(files) - len(skipped)} of {len(files)} photo(s) into {out}")
    if skipped:
        print(f"error: {len(skipped)} photo(s) skipped (see above)", file=sys.stderr)
    return 1 if skipped else 0


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
