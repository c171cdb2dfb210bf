"""The ``synthetic`` profile: SynthFace on the CPU, with ground truth.

- components: the world's generator and leaky directions, a ridge-regression inverter, its
  exact parsing maps, no deghosting (:func:`paperlib.synth.components`);
- classifier: a 7-way ``DiffNet(7, "resnet18-os16")`` trained on the world's pairs, 1 in 8 of them a
  no-change pair whose target is no class (``runs/diffnet-synthetic/diffnet.pt``, trained on first use);
- sources: observed photos, face ``i`` = ``observe(world, 1, seed * 1_000_003 + i)``;
- e4e / ReStyle: SynthFace analogues for ``Old`` and ``Smiling`` (:mod:`paperlib.synth.baselines`):
  an e4e-like ridge encoder pulled towards the mean latent and a ReStyle-like 5-step residual
  inverter from the average face, each moving its own code along InterFaceGAN-like logistic
  normals fitted on a labelled sample of the world (edit factor: the world's ``w + 20 n`` move
  of the attribute's coordinate) and regenerating the face (a final image, no mask); their
  settings and weights' hashes are in the sidecars' ``params["baselines"]``;
- ground truth: the :class:`Localization` hook scores every mask against the region the
  attribute itself changes; ``ideal_edit`` gives the ideal change of each photo (its true face
  with only the attribute changed), the reference of the exact "edit kept" judge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import torch

from ..checks import check_positive_int
from ..method.pipeline import BatchEdit
from ..infra.provenance import file_sha256, state_sha256, tensor_sha256
from .base import DEFAULTS, Setup, run_dir

NAME = "synthetic"
#: Faces of smoke runs (CI).
SMOKE_SIZE = 64
NOTE = ("SynthFace numbers are not comparable in absolute value with the paper's (another world, 128 px, no "
        "deghosting network); compare the ordering of the methods. e4e and ReStyle are SynthFace analogues "
        "(paperlib.synth.baselines), not the published encoders.")


def default_classifier() -> Path:
    """The default classifier (what ``python -m paperlib train --profile synthetic`` writes):
    ``runs/diffnet-synthetic/diffnet.pt`` under the project root, wherever the kernel starts."""
    return run_dir("diffnet", NAME) / "diffnet.pt"


# ---------------------------------------------------------------------------------- validation
def check(n_images: int | None = None, device: str | None = None, classifier_path: str | Path | None = None,
          random_weights: bool = False, images: str | Path | None = None, **_ignored) -> None:
    """One-line errors for bad options, before any work."""
    if random_weights or images:
        raise ValueError(f"{'random_weights' if random_weights else 'images'}: only the paper profile takes it "
                         "(SynthFace draws its own faces and trains its own classifier)")
    if n_images is not None:
        check_positive_int("n_images", n_images)
    if device is not None and torch.device(device).type != "cpu":
        raise ValueError(f"device: the synthetic profile runs on the CPU, got {device!r}; use --device cpu")
    if classifier_path is not None and not Path(classifier_path).is_file():
        raise FileNotFoundError(f"classifier: {classifier_path} does not exist; train one with "
                                "`python -m paperlib train --profile synthetic`")


# ---------------------------------------------------------------------------------- training
def pair_source(size: int | None = None, seed: int = 0, leaks: dict | None = None, no_change: float | None = None,
                **_ignored):
    """The world's training pairs (``paperlib.synth.pair_source``, imported when called), with the profile's
    share of no-change pairs; ``leaks``, ``no_change``: a variant world's side effects and another share
    (experiments; default the world's and the profile's)."""
    from .. import synth

    d = DEFAULTS[NAME]
    return synth.pair_source(size=d["size"] if size is None else size, seed=seed, leaks=leaks,
                             no_change=d["no_change"] if no_change is None else no_change)


def train_classifier(steps: int | None = None, seed: int = 0, device: str = "cpu", smoke: bool = False,
                     out_dir: str | Path | None = None, progress: bool = True, leaks: dict | None = None,
                     size: int | None = None, no_change: float | None = None, **_ignored):
    """Train (or resume, or reuse when complete) the world's differential classifier. ``leaks``, ``size``,
    ``no_change``: a variant world (its side effects, its image size) or share of no-change pairs, for
    experiments; give such a run its own ``out_dir``."""
    from ..method.train import TrainConfig, train

    d = DEFAULTS[NAME]
    steps = d["steps"] if steps is None else steps
    out = Path(out_dir) if out_dir is not None else run_dir("diffnet", NAME, seed, steps, smoke)
    config = TrainConfig(steps=steps, seed=seed, arch=d["arch"], device=device, out_dir=str(out))
    size = size or (SMOKE_SIZE if smoke else d["size"])
    return train(config, pair_source(size=size, seed=seed, leaks=leaks, no_change=no_change), progress=progress)


def training_message(path: Path) -> str:
    """The one friendly line (information, on stdout) before the first use trains the classifier:
    where it goes, named relative to the project root (no local path), and how long it takes."""
    from ..infra.paths import root_relative

    d = DEFAULTS[NAME]
    folder = root_relative(path.parent)
    where = f"{folder}/" if folder else "the runs folder"  # outside the project (a custom runs root): no path
    return (f"First run: training the small synthetic classifier once ({d['steps']} steps of {d['arch']}, "
            f"about 4 min on a 2-core CPU; the progress bar below counts them); it is saved in {where} "
            "and reused from then on.")


def load_classifier(path: str | Path | None = None, *, train_if_missing: bool = True,
                    progress: bool = True) -> tuple[torch.nn.Module, Path]:
    """The trained DiffNet (``runs/diffnet-synthetic/diffnet.pt`` by default).

    When the default file is missing it is trained with the synthetic defaults (one friendly line on
    stdout, :func:`training_message`, and a tqdm.auto progress bar with ``progress``); an explicit ``path`` that does not exist is an error. The architecture comes from the
    ``diffnet.json`` beside the file (default resnet18, 7 classes).
    """
    from ..infra.files import read_json
    from ..method.diffnet import DiffNet

    explicit = path is not None
    path = Path(path) if explicit else default_classifier()
    if not path.is_file():
        if explicit or not train_if_missing:
            raise FileNotFoundError(f"classifier: {path} does not exist; train one with "
                                    "`python -m paperlib train --profile synthetic`")
        print(training_message(path))
        train_classifier(out_dir=path.parent, progress=progress)
    meta = read_json(path.with_name("diffnet.json"), {})
    net = DiffNet.from_checkpoint(path, n_classes=int(meta.get("n_classes", 7)), arch=meta.get("arch", "resnet18"))
    return net, path


# -------------------------------------------------------------------------------- evaluation
def faces(world, indices: Sequence[int], seed: int):
    """The observed SynthFace photos of ``indices``: face ``i`` is ``observe(world, 1, seed * 1_000_003 + i)``,
    so face ``i`` is the same whatever the number of images (the cache is per index)."""
    from ..synth import Observed, observe

    obs = [observe(world, 1, seed * 1_000_003 + i) for i in indices]
    return Observed(*(torch.cat([getattr(o, f) for o in obs]) for f in ("image", "parsing", "latents", "details")))


class Localization:
    """The :class:`paperlib.profiles.GroundTruth` hook of SynthFace: IoU, precision and recall of
    each mask (threshold 0.5) against the intended region, the share of the CAM's mass inside it
    (where the classifier looks; with the region's share of the image, a uniform map's score), and
    the blended result's MAE against ``I`` outside it (damage) and against ``T`` inside it (edit lost)."""

    name = "localization"

    def __init__(self, world) -> None:
        from ..synth.report import METRICS

        self.world = world
        self.metrics = METRICS

    def score(self, edit: BatchEdit, attribute: str, alpha: float) -> dict[str, dict[str, list[float]]]:
        from ..synth.scores import blend_errors, intended_region, localization, mass_inside

        region = intended_region(self.world, edit.latents, attribute, alpha)
        out = {}
        for v, m in edit.masks.items():
            s = {**localization(m, region), "region_share": region.float().flatten(1).mean(1),
                 "mass_inside": mass_inside(edit.cams[v], region),
                 **blend_errors(edit.outputs[v], edit.source, edit.edited, region)}
            out[v] = {k: t.tolist() for k, t in s.items()}
        return out

    def rows(self, scores: dict[str, dict[str, list]], attributes: Sequence[str]) -> list[dict]:
        """One row per mask variant over all attributes (``attribute`` "all"), then per attribute."""
        from ..synth.report import summary_rows

        rows = []
        for a in (None, *attributes):
            for r in summary_rows(scores, a) if scores else []:
                if r["n"]:
                    rows.append({"attribute": a or "all", **r})
        return rows

    def markdown(self, rows: list[dict], n_images: int, n_attributes: int) -> str:
        from ..synth.report import looking_table, markdown_table

        text = [f"# Ground-truth localization: {n_images} SynthFace faces x {n_attributes} attributes", "",
                "Each mask variant against the region the attribute itself changes (threshold 0.5); the MAEs are "
                "of the final (blended) image, on the [0, 1] scale. CAM mass inside: the share of the variant's "
                "map (before eq 10) that falls inside the region; region share: the region's share of the image "
                "(a uniform map's score).", "",
                "## Where the classifier looks (Diff-CAM, per attribute)", "",
                "Lift = CAM mass inside / region share (1: no better than a uniform map).", "",
                looking_table(rows), ""]
        for a in dict.fromkeys(r["attribute"] for r in rows):
            text += [f"## {'all attributes' if a == 'all' else a}", "",
                     markdown_table([r for r in rows if r["attribute"] == a]), ""]
        return "\n".join(text)


def setup(n_images: int = DEFAULTS[NAME]["n_images"], *, seed: int = 0, size: int | None = None,
          smoke: bool = False, steps: int | None = None, classifier: torch.nn.Module | None = None,
          classifier_path: str | Path | None = None, inverter=None, progress: bool = True, device: str = "cpu",
          **_ignored) -> Setup:
    """The synthetic profile on ``n_images`` SynthFace faces (CPU).

    ``classifier``: a DiffNet to use (tests inject a small one); else the trained one at
    ``classifier_path``, by default the run of ``seed``/``steps`` (trained first when missing).
    ``inverter``: a :class:`paperlib.synth.SynthInverter` (default: fitted on 2000 samples).
    e4e / ReStyle: the analogues of :func:`paperlib.synth.baseline_editors` (fitted once per process).
    ``size``: face size (default 128, 64 for ``smoke``).
    """
    from ..synth import SynthInverter, SynthWorld, baseline_editors, components
    from ..synth.scores import ideal_change
    from ..synth.strength import strength_estimator, strength_kept

    check(n_images=n_images, device=device)
    size = size or (SMOKE_SIZE if smoke else DEFAULTS[NAME]["size"])
    world = SynthWorld(size)
    assets = {}
    if classifier is None:
        if classifier_path is None and (smoke or seed != 0 or steps not in (None, DEFAULTS[NAME]["steps"])):
            classifier_path = run_dir("diffnet", NAME, seed, steps, smoke) / "diffnet.pt"
            if not Path(classifier_path).is_file():
                train_classifier(steps, seed, smoke=smoke, progress=progress)
        classifier, cpath = load_classifier(classifier_path, progress=progress)
        assets["classifier"] = {"path": str(cpath), "sha256": file_sha256(cpath)}
    else:
        assets["classifier"] = {"path": None, "injected": type(classifier).__name__}
    classifier = classifier.eval()
    inverter = inverter or SynthInverter(world)
    observed = faces(world, range(n_images), seed)
    c = components(world, classifier, inverter)
    editors, baseline_settings = baseline_editors(world)
    params = {"seed": seed, "size": size, "classifier": state_sha256(classifier),
              "inverter": tensor_sha256(inverter.weights), "faces": "observe(world, 1, seed * 1000003 + i)",
              "baselines": baseline_settings}
    return Setup(profile=NAME, components=c, n_images=n_images,
                 load_sources=lambda idx: observed.image[list(idx)],
                 source_parsing=lambda idx, images: observed.parsing[list(idx)],
                 baselines=editors, params=params, assets=assets,
                 ground_truth=Localization(world), note=NOTE, device="cpu",
                 ideal_edit=lambda idx, attribute, alpha: ideal_change(
                     world, observed.latents[list(idx)], observed.details[list(idx)], attribute, alpha),
                 strength_kept=lambda output, source, ideal, attribute: strength_kept(
                     strength_estimator(world), output, source, ideal, attribute))


__all__ = ["setup", "check", "pair_source", "train_classifier", "training_message", "load_classifier", "faces", "Localization",
           "default_classifier", "SMOKE_SIZE"]
