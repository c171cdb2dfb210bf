"""Profiles: what is plugged into the one pipeline, chosen by name in exactly one place.

A profile (``synthetic``: SynthFace on the CPU; ``paper``: the official networks on CelebA-HQ)
provides

- a :class:`Setup` for the evaluation, the figures and the notebooks (:func:`get`): the
  pipeline's :class:`paperlib.method.pipeline.Components`, the source photos, the baselines, the
  settings that determine the images, and optionally a :class:`GroundTruth` hook that scores
  each mask against the true edit region (only a world that knows it, SynthFace, has one);
- the training pairs of the differential classifier (:func:`pair_source`);
- its differential classifier's training (:func:`train_classifier`);
- its defaults (:data:`DEFAULTS`) and run folders (:func:`run_dir`).

Modules: ``base`` (the protocol), ``synthetic``; the paper profile in four: ``paper`` (the networks
wired into the pipeline, its ``check`` and ``setup``), ``paper_assets`` (asset names, checks, hashes,
direction files), ``paper_data`` (the photos, the training pairs and the classifier's training) and
``dry_run`` (random-init networks, only when asked for). This file only dispatches by name.

``paperlib.method.train``, ``paperlib.evaluation.evaluate``, the figures, the notebooks and ``reproduce`` ask a
profile for what they need and know nothing of either world.
"""

from __future__ import annotations

from .base import DEFAULTS, NAMES, GroundTruth, Setup, check_profile, run_dir


def _module(name: str, training: bool = False):
    """The module of profile ``name`` with ``check`` and ``setup``, or with ``training`` the one
    with ``pair_source`` and ``train_classifier``."""
    check_profile(name)
    if name == "synthetic":
        from . import synthetic as module
    elif training:
        from . import paper_data as module
    else:
        from . import paper as module
    return module


def check(name: str, **options) -> None:
    """Validate a profile's options before any work (one-line ValueError / FileNotFoundError):
    ``n_images``, ``device``, ``celeba_root``, ``images``, ... as :func:`get` takes them."""
    _module(name).check(**options)


def get(name: str, **options) -> Setup:
    """The :class:`Setup` of profile ``name`` (``n_images``, ``seed``, ``device``, ... see each
    profile's ``setup``)."""
    return _module(name).setup(**options)


def pair_source(name: str, **options):
    """The training pairs of profile ``name`` (a :class:`paperlib.method.train.PairSource`)."""
    return _module(name, training=True).pair_source(**options)


def train_classifier(name: str, **options):
    """Train (or resume, or reuse) profile ``name``'s differential classifier (``steps``, ``seed``,
    ``device``, ``smoke``, ``data``, ``progress``); None where the profile uses released weights
    and no training data was given."""
    return _module(name, training=True).train_classifier(**options)


def train_command(name: str, *, steps: int | None = None, out: str | None = None, seed: int = 0,
                  device: str | None = None, arch: str | None = None, size: int | None = None, fresh: bool = False,
                  data: str | None = None, directions: str | None = None, quiet: bool = False) -> int:
    """The ``train`` command: profile ``name``'s differential classifier trained on its pairs
    (:func:`pair_source`) by :func:`paperlib.method.train.train` into ``out`` (default
    ``runs/diffnet-NAME`` under the project root), resumed unless ``fresh``; ``None`` means the
    profile's default. A bad argument or a busy folder is one line ``error: ...`` and status 2."""
    import sys

    from ..checks import check_readable_folder, device_or_default
    from ..infra.locks import FolderBusy
    from ..infra.paths import out_folder, under_root
    from ..method.train import TrainConfig, train

    defaults = DEFAULTS[name]
    try:
        device = device_or_default(device, defaults["device"])
        folder = out_folder(out, under_root("runs", f"diffnet-{name}"))
        for label, path in (("data", data), ("directions", directions)):
            if path is not None:
                check_readable_folder(label, path)
        config = TrainConfig(steps=defaults["steps"] if steps is None else steps, seed=seed,
                             arch=arch or defaults["arch"], device=device, out_dir=folder)
        source = pair_source(name, size=size, seed=seed, data=data, directions=directions, device=device)
        result = train(config, source, resume=not fresh, progress=not quiet)
    except (ValueError, FileNotFoundError, FolderBusy) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"trained {config.arch} for {result.steps} steps in {result.wall_time_s:.0f} s; held-out accuracy "
          f"{result.heldout_accuracy:.3f}; weights {result.weights_path}, summary {result.sidecar_path}")
    return 0


__all__ = ["NAMES", "DEFAULTS", "Setup", "GroundTruth", "check_profile", "run_dir", "check", "get", "pair_source",
           "train_classifier", "train_command"]
