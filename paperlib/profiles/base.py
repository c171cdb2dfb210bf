"""The profile protocol: :class:`Setup` (what a profile plugs in) and the :class:`GroundTruth` hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Protocol, Sequence

from ..method.attributes import INTERFACEGAN_ATTRIBUTES

if TYPE_CHECKING:  # annotations only: the names and defaults here are read by the command line before torch
    import torch

    from ..method.pipeline import BatchEdit, Components

#: The profiles, by name.
NAMES: tuple[str, ...] = ("synthetic", "paper")

#: Per-profile defaults: training pairs' size, architecture and steps; evaluation images and batch;
#: the device the profile runs on when none is given; synthetic ``no_change``: the share of no-change
#: training pairs (1/8: as many as of each attribute; :class:`paperlib.synth.SynthPairSource`).
DEFAULTS: dict[str, dict] = {
    "synthetic": {"size": 128, "arch": "resnet18-os16", "steps": 100, "n_images": 100, "batch": 10, "device": "cpu",
                  "no_change": 0.125},
    "paper": {"size": 256, "arch": "resnet101", "steps": 3500, "n_images": 1000, "batch": 4, "device": "cuda"},
}


class GroundTruth(Protocol):
    """Scores of each mask against the true edit region, for a profile whose world knows it.

    ``name`` names the output files (``<name>.csv/.json/.md``); ``score`` returns, per mask
    variant, per-image values of each of ``metrics`` for one batch; ``rows`` and ``markdown``
    summarise the collected values (``scores[variant][metric]`` lists, plus ``"attribute"``).
    """

    name: str
    metrics: tuple[str, ...]

    def score(self, edit: BatchEdit, attribute: str, alpha: float) -> dict[str, dict[str, list[float]]]: ...

    def rows(self, scores: dict[str, dict[str, list]], attributes: Sequence[str]) -> list[dict]: ...

    def markdown(self, rows: list[dict], n_images: int, n_attributes: int) -> str: ...


@dataclass
class Setup:
    """What a profile plugs into the evaluation, the figures and the notebooks.

    ``load_sources(indices)``: the source photos ``I`` (B, 3, H, W) in [-1, 1] at the evaluation
    resolution (on the components' device). ``source_parsing(indices, images)``: their parsing
    maps, or None to use ``components.parse``. ``baselines``: method -> ``(images, attribute) ->
    outputs`` in [-1, 1] (e4e / ReStyle), defined for ``baseline_attributes`` only.
    ``unavailable``: method -> reason (cells say n/a). ``params``: the settings that determine
    the images (stored in the cache manifest). ``assets``: name -> sha256 of the files used.
    ``ground_truth``: the optional :class:`GroundTruth` hook. ``ideal_edit(indices, attribute,
    alpha)``: in a world with ground truth, the ideal change of each source (only the attribute
    changed, (B, 3, H, W), [-1, 1] units) and the attribute's intended region (B, H, W) bool: the
    reference of the ``exact`` edit-kept judge (:mod:`paperlib.evaluation.judges`).
    ``strength_kept(output, source, ideal, attribute)``: the ``strength`` judge, the attribute's
    strength gain read in the output over the ideal result's (SynthFace's fitted estimator).
    ``identity``: score the identity distance (dlib, :mod:`paperlib.photo.identity`) of every
    output in the tables (real faces only). ``note``: one sentence printed
    under the tables' title (how to read this profile's numbers). ``random_weights``: every
    network is random-init (a dry run at the official sizes): figures, tables and sidecars say
    so and its runs live under ``runs/random-weights/``. The evaluation then
    measures LPIPS / FID with random-init networks too (:func:`paperlib.evaluation.metrics.random_init_metrics`;
    their cells are marked stand-in).
    """

    profile: str
    components: Components
    n_images: int
    load_sources: Callable[[Sequence[int]], torch.Tensor]
    source_parsing: Optional[Callable[[Sequence[int], torch.Tensor], torch.Tensor]] = None
    baselines: dict[str, Callable[[torch.Tensor, str], torch.Tensor]] = field(default_factory=dict)
    baseline_attributes: tuple[str, ...] = tuple(INTERFACEGAN_ATTRIBUTES)
    unavailable: dict[str, str] = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    assets: dict = field(default_factory=dict)
    ground_truth: Optional[GroundTruth] = None
    ideal_edit: Optional[Callable[[Sequence[int], str, float], tuple[torch.Tensor, torch.Tensor]]] = None
    strength_kept: Optional[Callable[[torch.Tensor, torch.Tensor, torch.Tensor, str], torch.Tensor]] = None
    identity: bool = False
    note: str = ""
    device: str = "cpu"
    random_weights: bool = False


def check_profile(name: str) -> str:
    """``name`` if it is a profile, else a one-line ValueError."""
    if name not in NAMES:
        raise ValueError(f"profile: unknown profile {name!r}; expected one of {', '.join(NAMES)}")
    return name




#: Where the runs of a dry run with random-init networks live, under the project root (never ``figures/``).
RANDOM_WEIGHTS_RUNS = Path("runs/random-weights")


def runs_root(random_weights: bool = False, smoke: bool = False) -> Path:
    """The folder of a profile's runs under the project root (:func:`paperlib.infra.paths.project_root`):
    ``runs``, ``runs/random-weights`` for a dry run with random-init networks, with ``/smoke`` for
    smoke runs."""
    from ..infra.paths import under_root

    root = under_root(RANDOM_WEIGHTS_RUNS if random_weights else "runs")
    return root / "smoke" if smoke else root


def run_dir(kind: str, profile: str, seed: int = 0, steps: int | None = None, smoke: bool = False,
            random_weights: bool = False) -> Path:
    """Where a profile's runs live, under :func:`runs_root` (the project root's ``runs/``, wherever
    the kernel starts): ``runs/<kind>-<profile>`` for the default seed and steps,
    ``runs/<kind>-<profile>-seed<S>-steps<N>`` otherwise (``runs/smoke/...`` for smoke runs,
    ``runs/random-weights/...`` for dry runs with random-init networks), so other seeds, step
    counts or random weights never collide with the default run's checkpoint or cache."""
    default = seed == 0 and steps in (None, DEFAULTS[profile]["steps"])
    name = f"{kind}-{profile}" if default else f"{kind}-{profile}-seed{seed}-steps{steps}"
    return runs_root(random_weights, smoke) / name


__all__ = ["NAMES", "DEFAULTS", "RANDOM_WEIGHTS_RUNS", "Setup", "GroundTruth", "check_profile", "run_dir", "runs_root"]
