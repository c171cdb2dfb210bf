"""Where SynthFace's differential classifier looks, per attribute, in variant worlds (issue 21).

For each named world variant (its directions' side effects, ``LEAKS``), train the synthetic profile's
classifier (``train_classifier``: resnet18-os16, 128², 100 steps, seed 0; reused when its folder holds
a finished run) and measure the Diff-CAM lift of all 7 attributes on ``--n-faces`` faces
(:func:`paperlib.synth.looking.diffcam_lift`). Writes ``<out>/<variant>/lift.json`` and prints a
Markdown table (lift, and mass inside) of every variant measured so far.

    PYTHONPATH=. .venv/bin/python benchmarks/where_the_classifier_looks.py --out runs/looking \\
        --variants world smiling-no-cy smiling-pure all-pure
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from paperlib.method.attributes import ATTRIBUTES
from paperlib.synth.world import CY, LEAKS


def variants() -> dict[str, tuple[dict | None, float]]:
    """The variants by name: the world's side effects (``leaks``; ``None``: the world's own) and the share
    of no-change training pairs (0: EOGI's recipe, as before the fix; 0.125: the profile's default now)."""
    no_cy = tuple((i, v) for i, v in LEAKS["Smiling"] if i != CY)
    return {
        "world": (None, 0.0),
        "smiling-no-cy": ({**LEAKS, "Smiling": no_cy}, 0.0),
        "smiling-pure": ({**LEAKS, "Smiling": ()}, 0.0),
        "all-pure": ({}, 0.0),
        "world+no-change": (None, 0.125),
        "all-pure+no-change": ({}, 0.125),
    }


def measure(name: str, leaks: dict | None, no_change: float, out: Path, n_faces: int, size: int = 128) -> dict:
    from paperlib.method.diffnet import DiffNet
    from paperlib.profiles.synthetic import train_classifier
    from paperlib.synth.looking import diffcam_lift, no_change_answer
    from paperlib.synth.world import SynthWorld

    folder = out / name
    result_path = folder / "lift.json"
    if result_path.is_file():
        result = json.loads(result_path.read_text())
        if "no_change_answer" not in result:  # runs measured before it was added
            net = DiffNet.from_checkpoint(folder / "diffnet.pt", n_classes=7, arch="resnet18-os16")
            result["no_change_answer"] = no_change_answer(SynthWorld(size, leaks), net)
            result_path.write_text(json.dumps(result, indent=1) + "\n")
        return result
    t0 = time.perf_counter()
    trained = train_classifier(out_dir=folder, progress=False, leaks=leaks, size=size, no_change=no_change)
    t1 = time.perf_counter()
    net = DiffNet.from_checkpoint(trained.weights_path, n_classes=7, arch="resnet18-os16")
    lifts = diffcam_lift(SynthWorld(size, leaks), net, n_faces=n_faces)
    result = {"variant": name, "leaks": leaks, "no_change": no_change, "size": size, "n_faces": n_faces,
              "heldout_accuracy": trained.heldout_accuracy, "train_s": t1 - t0,
              "measure_s": time.perf_counter() - t1, "lifts": lifts,
              "no_change_answer": no_change_answer(SynthWorld(size, leaks), net)}
    result_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def markdown(results: list[dict]) -> str:
    head = "| variant | held-out acc. | " + " | ".join(ATTRIBUTES) + " | no-change pairs: top class (p) |"
    lines = [head, "|" + "---|" * (len(ATTRIBUTES) + 3)]
    for r in results:
        cells = [f"{r['lifts'][a]['lift']:.1f} ({r['lifts'][a]['mass_inside']:.3f})" for a in ATTRIBUTES]
        top = max(r["no_change_answer"], key=r["no_change_answer"].get)
        lines.append(f"| {r['variant']} | {r['heldout_accuracy']:.2f} | " + " | ".join(cells)
                     + f" | {top} ({r['no_change_answer'][top]:.2f}) |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of the runs (one subfolder per variant)")
    parser.add_argument("--variants", nargs="+", default=list(variants()), choices=list(variants()))
    parser.add_argument("--n-faces", type=int, default=50)
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    table = variants()
    results = []
    for name in args.variants:
        results.append(measure(name, *table[name], args.out, args.n_faces))
        print(markdown(results[-1:]), flush=True)
    print("\nlift (mass inside) of the Diff-CAM map, per attribute\n\n" + markdown(results))


if __name__ == "__main__":
    main()
