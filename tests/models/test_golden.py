"""paperlib's networks against the upstream research code: the goldens of ``../shared/golden``.

Each ``<name>.pt`` there holds inputs and the outputs that the original research code computed
from them with deterministic random weights (``fill.py``'s ``fill_(net, seed)``); its README says,
per file, how to build the paperlib module, which paperlib call produces each output key and the
tolerance. Here, per golden file:

1. the file (and ``fill.py``) must match ``SHA256SUMS`` before it is used;
2. the module is built as ``config["build"]`` says (``config["class"]`` + ``config["kwargs"]``,
   ``config["registry"]`` or, for ``diffcam-masks.pt``, the networks of ``config["seeds"]``),
   put in eval mode and filled; every test first compares the filled state_dict's fingerprint
   with ``meta["fill_fingerprint"]``, so a failure says whether ``fill_`` / the state_dict keys
   changed (fingerprint) or the forward code did (outputs);
3. the paperlib calls of the README run once per file (module-scoped cache, CPU float32,
   ``torch.no_grad()`` except the CAM passes) and each output key is compared under
   ``config["tolerance"][key]``: ``{"rel": r}`` max|ours - golden| <= r * max|golden|,
   ``{"abs": a}`` max|ours - golden| <= a, BiSeNet labels equal except near-ties.

One test per file and output key group (a group = one paperlib call, or keys of one forward).
:func:`test_golden_lists_exactly_the_tested_keys` fails when a golden gains a key no test checks,
and :func:`test_negative_control_detects_changed_weights` shows that the comparison does fail.

ReStyle: ``net.refine(x, n_iters=t)`` runs the first t steps of the same loop, so the five
``w_iter<t>`` / ``image_iter<t>`` keys (and ``average_image``, the y_0 the first step sees) are
read, with hooks on the encoder and decoder, from the one 5-step ``net(x)`` that also gives
``image_rows``: 6 decoder passes instead of 20.

Each comparison prints ``[golden] file key: err ... bound ...`` (``pytest -rP`` shows them).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import paperlib.models
from paperlib.method import attributes, cam, pipeline
from paperlib.profiles import paper as paper_profile

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread (the 1024² forwards)

#: The rows ``_rows`` keys keep of a 1024² output (README: "rows").
ROWS = [0, 517, 1023]
#: The Diff-CAM++ (authors) mask variant of ``diffcam-masks.pt``: (method, aug, eigen, segmentation).
AUTHORS = ("gradcam++", True, "authors", True)
#: Fingerprint sums may differ by float64 summation order only: far below one changed weight.
FINGERPRINT_RTOL = 1e-12
#: Under another torch than the goldens' (a GPU machine's), ``fill_``'s draws differ in the last float32
#: bits of a few tensors (measured on torch 2.11: DiffNet and BiSeNet sums 1.6e-11 to 2.6e-11 relative);
#: still far below one changed weight (1 % of one BatchNorm variance, ~0.01, is ~9e-9 of DiffNet's abs sum).
OTHER_TORCH_RTOL = 1e-9


#: Where paperlib's side runs: the CPU, or ``PAPERLIB_GOLDEN_DEVICE`` (``cuda`` on a GPU machine, with
#: TF32 off so float32 is float32), compared with the CPU goldens under the same tolerances.
DEVICE = torch.device(os.environ.get("PAPERLIB_GOLDEN_DEVICE", "cpu"))
if DEVICE.type == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False


def to_device(x, device: torch.device):
    """Tensors (also inside dicts, lists, tuples) moved to ``device``."""
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, dict):
        return {k: to_device(v, device) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(to_device(v, device) for v in x)
    return x


# --------------------------------------------------------------------------- what is tested
def diffcam_groups(a: str) -> dict[str, tuple[str, ...]]:
    """``diffcam-masks.pt``'s key groups for attribute ``a`` (README table; deghosting for Beard only)."""
    cams = (f"{a}/diffcam_cam256", f"{a}/authors_cam256")
    if a == "Beard":
        cams += tuple(f"Beard/authors_gradcampp{s}_cam256" for s in ("", "_tta", "_eigen"))
    groups = {f"{a}/cams": cams,
              f"{a}/masks": (f"{a}/diffcam_cam256@be.masks['Diff-CAM'][:, ::4, ::4]", f"{a}/authors_mask512",
                             # the named method "Diff-CAM++ (authors' code)": the same Grad-CAM++/TTA/Eigen map
                             # (Eigen on for Beard and Smiling), unfused (its scripts comment eq 10 out)
                             f"{a}/authors_cam256@be.masks[AUTHORS_CODE][:, ::4, ::4]"),
              f"{a}/blends": tuple(f"{a}/{v}_blend_{s}" for v in ("diffcam", "authors") for s in ("pool64", "rows"))}
    if a == "Beard":
        groups["Beard/deghosted"] = tuple(f"Beard/{v}_output_{s}" for v in ("diffcam", "authors")
                                          for s in ("pool64", "rows"))
    return groups


#: file -> output key group -> the keys it compares. A key ``"<golden key>@<what>"`` compares
#: another paperlib value with the same golden key (and its tolerance).
FILES: dict[str, dict[str, tuple[str, ...]]] = {
    **{name: {
        "get_latent": ("w",),
        "wplus_truncated": ("image_wplus", "latent_wplus"),
        "z_truncated": (f"image_z{pool}",),
        "noise_buffers": (f"image_buffers{pool}",),
        "mixing": (f"image_mix{pool}", "latent_mix"),
    } for name, pool in (("stylegan2-64", ""), ("stylegan2-256", "_pool64"))},
    **{name: {"w": ("w",), "image": ("image_pool64", "image_rows")}
       for name in ("psp-ffhq-encode", "e4e-ffhq-encode")},
    **{name: {"average_image": ("average_image_pool64",),
              **{f"iter{t}": (f"w_iter{t}", f"image_iter{t}_pool64") for t in range(1, 5)},
              "iter5": ("w_iter5", "image_iter5_pool64", "image_rows")}
       for name in ("restyle-psp-ffhq-encode", "restyle-e4e-ffhq-encode")},
    "eogi-diffcam": {"logits": ("logits",)},
    "eogi-deghosting": {"output": ("output_pool64", "output_rows")},
    "face-parsing-bisenet": {"logits": ("logits_pool64",), "argmax": ("argmax",)},
    "diffcam-masks": {**diffcam_groups("Beard"), **diffcam_groups("Smiling")},
}


def golden_key(label: str) -> str:
    return label.partition("@")[0]


def unit_of(group: str) -> str:
    """What one cached computation serves: the attribute for ``diffcam-masks.pt``, else the whole file."""
    return group.partition("/")[0] if "/" in group else ""


# --------------------------------------------------------------------------- files
@pytest.fixture(scope="module")
def golden_dir(shared) -> Path:
    d = shared / "golden"
    if not d.is_dir():
        if os.environ.get("CI"):  # same convention as conftest's ``shared``: never let these vanish on CI
            pytest.fail(f"{d} not present; CI must provide the project's shared/golden folder")
        pytest.skip(f"{d} not present (the regression goldens of the project's read-only shared/ folder)")
    return d


def sha256sums(d: Path) -> dict[str, str]:
    sums = {}
    for line in (d / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


def verified(d: Path, filename: str) -> Path:
    """``d / filename`` after checking its SHA256 against ``SHA256SUMS``."""
    sums = sha256sums(d)
    assert filename in sums, f"{filename}: not listed in {d / 'SHA256SUMS'}"
    digest = hashlib.sha256((d / filename).read_bytes()).hexdigest()
    assert digest == sums[filename], f"{filename}: SHA256 {digest} differs from SHA256SUMS ({sums[filename]})"
    return d / filename


def load_fill(d: Path) -> Callable[[nn.Module, int], nn.Module]:
    """``fill_`` of the golden folder's ``fill.py`` (imported from there, never copied)."""
    spec = importlib.util.spec_from_file_location("paperlib_golden_fill", verified(d, "fill.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.fill_


def fingerprint(module: nn.Module) -> dict[str, float]:
    """README: number of floating tensors, float64 sum and sum of |.| of the state_dict, sorted keys."""
    sd = module.state_dict()
    tensors = [sd[k] for k in sorted(sd) if sd[k].is_floating_point()]
    return {"tensors": len(tensors), "sum": sum(t.double().sum().item() for t in tensors),
            "abs_sum": sum(t.double().abs().sum().item() for t in tensors)}


def fingerprint_problems(ours: dict, ref: dict, rtol: float = FINGERPRINT_RTOL) -> list[str]:
    tol = rtol * ref["abs_sum"]
    problems = [] if ours["tensors"] == ref["tensors"] else [
        f"{ours['tensors']} floating tensors, golden {ref['tensors']}"]
    problems += [f"{k} {ours[k]!r}, golden {ref[k]!r} (|diff| {abs(ours[k] - ref[k]):.3g} > {tol:.3g})"
                 for k in ("sum", "abs_sum") if not abs(ours[k] - ref[k]) <= tol]
    return problems


def build_nets(config: dict, name: str) -> dict[str, nn.Module]:
    """Fingerprint name -> the module ``config["build"]`` describes, in eval mode (not filled)."""
    if "class" in config:
        module, _, cls = config["class"].rpartition(".")
        return {name: getattr(importlib.import_module(module), cls)(**config["kwargs"]).eval()}
    if "registry" in config:
        return {name: paperlib.models.build(config["registry"]).eval()}
    return {net: paperlib.models.build(net).eval() for net in config["seeds"]}


def seeds(gd: dict) -> dict[str, int]:
    return gd["seed"] if isinstance(gd["seed"], dict) else {gd["name"]: gd["seed"]}


# --------------------------------------------------------------------------- comparison
def pool64(x: torch.Tensor) -> torch.Tensor:
    """README ``_pool64``: ``F.avg_pool2d(x, side // 64)``."""
    return F.avg_pool2d(x, x.shape[-1] // 64)


def rows(x: torch.Tensor) -> torch.Tensor:
    return x[:, :, ROWS, :]


class Comparison:
    """One key against its golden under its tolerance; ``ok``, ``ratio`` (error / bound), ``message``."""

    def __init__(self, key: str, err: float, bound: float, tolerance: dict, detail: str = "") -> None:
        self.key, self.err, self.bound, self.tolerance, self.detail = key, err, bound, tolerance, detail

    @property
    def ok(self) -> bool:
        return self.err <= self.bound  # False for NaN

    @property
    def ratio(self) -> float:
        return self.err / self.bound if self.bound > 0 else (0.0 if self.err == 0 else math.inf)

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "FAIL"
        return (f"{self.key}: max|ours - golden| = {self.err:.3g}, allowed {self.bound:.3g} "
                f"({self.tolerance}){self.detail} [{verdict}]")


def compare(key: str, ours: torch.Tensor, golden: torch.Tensor, tolerance: dict,
            logits: torch.Tensor | None = None) -> Comparison:
    """``ours`` vs ``golden`` under a golden tolerance ``{"rel": r}``, ``{"abs": a}`` or, for labels,
    ``{"labels_equal_where_margin_above_rel": r}`` (``logits``: ours, class dim -3; a label may differ
    only where ours' top-1 minus top-2 logit is <= r * max|logits| of that output)."""
    if tuple(ours.shape) != tuple(golden.shape):
        return Comparison(key, math.inf, 0.0, tolerance, f"; shape {tuple(ours.shape)} != golden {tuple(golden.shape)}")
    if "labels_equal_where_margin_above_rel" in tolerance:
        r = tolerance["labels_equal_where_margin_above_rel"]
        top2 = logits.topk(2, dim=-3).values
        margin = top2[..., 0, :, :] - top2[..., 1, :, :]
        scale = logits.abs().flatten(1).amax(1).view(-1, *[1] * (margin.dim() - 1))  # per output
        differ = ours.to(torch.int64) != golden.to(torch.int64)
        decisive = differ & (margin > r * scale)
        return Comparison(key, float(decisive.sum()), 0.0, tolerance,
                          f"; error = labels that differ where the margin is decisive; {int(differ.sum())} of "
                          f"{differ.numel()} differ in all, near-ties exempt")
    err = (ours.double() - golden.double()).abs().max().item()
    if "rel" in tolerance:
        return Comparison(key, err, tolerance["rel"] * golden.double().abs().max().item(), tolerance)
    if "abs" in tolerance:
        return Comparison(key, err, float(tolerance["abs"]), tolerance)
    return Comparison(key, math.inf, 0.0, tolerance, "; unknown tolerance kind")


def call_of(calls: dict[str, str], key: str) -> str:
    """The ``config["calls"]`` entry of ``key``; templates like ``<A>/x`` or ``B/<p|q>_y`` match too."""
    if key in calls:
        return calls[key]
    for template, call in calls.items():
        parts = re.split(r"(<[^<>]+>)", template)
        pattern = "".join("[^/]+" if p == "<A>" else
                          "(?:" + "|".join(map(re.escape, p[1:-1].split("|"))) + ")" if p.startswith("<") else
                          re.escape(p) for p in parts)
        if re.fullmatch(pattern, key):
            return call
    return "(no entry in config['calls'])"


# --------------------------------------------------------------------------- the paperlib calls
@torch.no_grad()
def run_stylegan2(nets, inputs, config, unit):
    (net,) = nets.values()
    # above 64 px the README pools every image but image_wplus (keys *_pool64)
    pool, suffix = (pool64, "_pool64") if net.size > 64 else ((lambda x: x), "")
    tl, noise = inputs["truncation_latent"], list(inputs["noise"])
    image_wplus, latent_wplus = net([inputs["wplus"]], input_is_latent=True, truncation=0.7, truncation_latent=tl,
                                    noise=noise, return_latents=True)
    image_z = net([inputs["z"]], truncation=0.7, truncation_latent=tl, noise=noise)[0]
    image_buffers = net([inputs["wplus"]], input_is_latent=True, randomize_noise=False)[0]
    image_mix, latent_mix = net([inputs["z"], inputs["z2"]], inject_index=3, noise=noise, return_latents=True)
    return {"w": net.get_latent(inputs["z"]), "image_wplus": image_wplus, "latent_wplus": latent_wplus,
            f"image_z{suffix}": pool(image_z), f"image_buffers{suffix}": pool(image_buffers),
            f"image_mix{suffix}": pool(image_mix), "latent_mix": latent_mix}


@torch.no_grad()
def run_encoder(nets, inputs, config, unit):
    (net,) = nets.values()
    image, w = net(inputs["x"])
    return {"w": w, "image_pool64": pool64(image), "image_rows": rows(image)}


@torch.no_grad()
def run_restyle(nets, inputs, config, unit):
    (net,) = nets.values()
    seen, decoded = [], []  # encoder inputs cat[x, y_t]; decoder (w, image) per call
    hooks = [net.encoder.register_forward_pre_hook(lambda m, args: seen.append(args[0])),
             net.decoder.register_forward_hook(lambda m, args, out: decoded.append((args[0][0], out[0])))]
    try:
        image, w = net(inputs["x"])
    finally:
        for h in hooks:
            h.remove()
    n = net.n_iters
    assert n == 5 and len(seen) == n and len(decoded) == n + 1, (
        f"ReStyle: expected 5 steps (5 encoder, 6 decoder calls), saw n_iters={n}, {len(seen)} encoder and "
        f"{len(decoded)} decoder calls")
    assert torch.equal(decoded[-1][0], w) and torch.equal(decoded[-1][1], image), \
        "ReStyle: the last decoder call is not net(x)'s (image, w)"
    out = {"average_image_pool64": pool64(seen[0][:, 3:]), "image_rows": rows(image)}
    for t in range(1, n + 1):
        out[f"w_iter{t}"], out[f"image_iter{t}_pool64"] = decoded[t][0], pool64(decoded[t][1])
    return out


@torch.no_grad()
def run_diffcam(nets, inputs, config, unit):
    return {"logits": nets["eogi-diffcam"](inputs["x"])}


@torch.no_grad()
def run_deghosting(nets, inputs, config, unit):
    y = nets["eogi-deghosting"](inputs["lq"])
    return {"output_pool64": pool64(y), "output_rows": rows(y)}


@torch.no_grad()
def run_bisenet(nets, inputs, config, unit):
    outs = nets["face-parsing-bisenet"](inputs["x"])
    logits = torch.stack(outs)  # (3, 1, 19, 512, 512)
    return {"logits_pool64": torch.stack([F.avg_pool2d(o, 8) for o in outs]),
            "argmax": torch.stack([o.argmax(1) for o in outs]), "argmax:logits": logits}


def run_diffcam_masks(nets, inputs, config, attribute):
    """README "diffcam-masks.pt in detail", for one attribute."""
    net, k = nets["eogi-diffcam"], config["class_index"][attribute]
    assert attributes.EOGI17_INDEX[attribute] == k, (
        f"{attribute}: paperlib.method.attributes.EOGI17_INDEX gives {attributes.EOGI17_INDEX[attribute]}, golden class {k}")

    def up(x):  # README: the 1024² images
        return F.interpolate(x, size=(1024, 1024), mode="bilinear", align_corners=False)

    def labels(p):  # README: the parsing maps at 1024²
        return F.interpolate(p[None].float(), size=(1024, 1024), mode="nearest")[:, 0].long()

    source, reconstruction, edited = (up(inputs[f"{n}_128"]) for n in ("source", "reconstruction", "edited"))
    parsing = {id(source): labels(inputs["parsing_source_512"]), id(edited): labels(inputs["parsing_edited_512"])}

    def parse(x):
        assert id(x) in parsing, "parse: called on an image other than I and T"
        return parsing[id(x)]

    extra = {"deghost": paper_profile._deghoster(nets["eogi-deghosting"])} if attribute == "Beard" else {}
    c = pipeline.Components(invert=lambda x: torch.zeros(x.shape[0], 1),
                            generate=lambda w: reconstruction if (w == 0).all() else edited,
                            direction=lambda a: torch.ones(1), classifier=net,
                            class_index=attributes.EOGI17_INDEX.__getitem__, parse=parse, **extra)
    be = pipeline.edit_variants(c, source, attribute, ("Diff-CAM", AUTHORS, pipeline.AUTHORS_CODE), alpha=20.0)
    pair = pipeline.classifier_input(c, reconstruction, edited)
    configs = {"diffcam_cam256": ("gradcam", False, False), "authors_cam256": ("gradcam++", True, "authors")}
    if attribute == "Beard":
        configs |= {"authors_gradcampp_cam256": ("gradcam++", False, False),
                    "authors_gradcampp_tta_cam256": ("gradcam++", True, False),
                    "authors_gradcampp_eigen_cam256": ("gradcam++", False, "authors")}
    maps = cam.cam_variants(net, net.target_layer, pair, k, list(configs.values()))  # 2 passes for all of them
    a = attribute
    out = {f"{a}/{name}": m for name, m in zip(configs, maps)}
    out[f"{a}/diffcam_cam256@be.masks['Diff-CAM'][:, ::4, ::4]"] = be.masks["Diff-CAM"][:, ::4, ::4]
    out[f"{a}/authors_mask512"] = be.masks[AUTHORS][:, ::2, ::2]
    out[f"{a}/authors_cam256@be.masks[AUTHORS_CODE][:, ::4, ::4]"] = be.masks[pipeline.AUTHORS_CODE][:, ::4, ::4]
    for name, variant in (("diffcam", "Diff-CAM"), ("authors", AUTHORS)):
        out[f"{a}/{name}_blend_pool64"] = pool64(be.blended[variant])
        out[f"{a}/{name}_blend_rows"] = rows(be.blended[variant])
        if a == "Beard":
            out[f"{a}/{name}_output_pool64"] = pool64(be.outputs[variant])
            out[f"{a}/{name}_output_rows"] = rows(be.outputs[variant])
    return out


RUNNERS = {
    "stylegan2-64": run_stylegan2, "stylegan2-256": run_stylegan2,
    "psp-ffhq-encode": run_encoder, "e4e-ffhq-encode": run_encoder,
    "restyle-psp-ffhq-encode": run_restyle, "restyle-e4e-ffhq-encode": run_restyle,
    "eogi-diffcam": run_diffcam, "eogi-deghosting": run_deghosting,
    "face-parsing-bisenet": run_bisenet, "diffcam-masks": run_diffcam_masks,
}


# --------------------------------------------------------------------------- one golden, cached
class Golden:
    """A verified golden file, its filled networks (built on first use, dropped once every key
    group's computation ran) and paperlib's outputs per unit (computed once)."""

    def __init__(self, d: Path, name: str) -> None:
        self.dir, self.name = d, name
        self.gd = torch.load(verified(d, f"{name}.pt"), map_location="cpu", weights_only=True)
        assert self.gd["format"] == "paperlib-golden/1" and self.gd["name"] == name, \
            f"{name}.pt: format {self.gd['format']!r}, name {self.gd['name']!r}"
        self.config, self.inputs, self.outputs = self.gd["config"], self.gd["inputs"], self.gd["outputs"]
        self._nets: dict[str, nn.Module] | None = None
        self.fingerprints: dict[str, dict] | None = None
        self._results: dict[str, dict[str, torch.Tensor]] = {}
        self._units = {unit_of(g) for g in FILES[name]}

    def nets(self) -> dict[str, nn.Module]:
        if self._nets is None:
            fill_ = load_fill(self.dir)
            nets = build_nets(self.config, self.name)
            self._nets = {k: fill_(nets[k], s) for k, s in seeds(self.gd).items()}
            self.fingerprints = {k: fingerprint(net) for k, net in self._nets.items()}
        return self._nets

    def assert_fingerprints(self) -> None:
        if self.fingerprints is None:
            self.nets()
        expected = self.gd["meta"]["fill_fingerprint"]
        assert sorted(self.fingerprints) == sorted(expected), \
            f"{self.name}: filled networks {sorted(self.fingerprints)}, golden fingerprints {sorted(expected)}"
        same_torch = self.gd["meta"].get("torch") == torch.__version__
        for net, ours in self.fingerprints.items():
            problems = fingerprint_problems(ours, expected[net], FINGERPRINT_RTOL if same_torch else OTHER_TORCH_RTOL)
            assert not problems, (f"{self.name}: the filled {net} differs from the golden's weights (fill_ or the "
                                  f"state_dict keys changed, not the forward code): {'; '.join(problems)}")

    def results(self, unit: str) -> dict[str, torch.Tensor]:
        if unit not in self._results:
            if DEVICE.type == "cpu":
                self._results[unit] = RUNNERS[self.name](self.nets(), self.inputs, self.config, unit)
            else:  # filled on the CPU (the fingerprints), run on DEVICE, compared on the CPU
                nets = {k: net.to(DEVICE) for k, net in self.nets().items()}
                out = RUNNERS[self.name](nets, to_device(self.inputs, DEVICE), self.config, unit)
                self._results[unit] = to_device(out, torch.device("cpu"))
            if self._units <= set(self._results):
                self._nets = None  # every group has its numbers: free the network's memory
        return self._results[unit]


@pytest.fixture(scope="module")
def goldens(golden_dir) -> Iterator[Callable[[str], Golden]]:
    cache: dict[str, Golden] = {}

    def get(name: str) -> Golden:
        if name not in cache:
            cache[name] = Golden(golden_dir, name)
        return cache[name]

    yield get
    cache.clear()


def check(g: Golden, ours: dict[str, torch.Tensor], labels) -> list[Comparison]:
    comparisons = []
    for label in labels:
        key = golden_key(label)
        c = compare(label, ours[label], g.outputs[key], g.config["tolerance"][key], ours.get(f"{label}:logits"))
        print(f"[golden] {g.name} {c}  (err/bound {c.ratio:.3g})")
        comparisons.append(c)
    return comparisons


def failure_message(g: Golden, comparisons: list[Comparison]) -> str:
    calls = g.config.get("calls", {})
    return f"{g.name}.pt: paperlib differs from the upstream code's outputs:\n" + "\n".join(
        f"  {c}\n    paperlib call: {call_of(calls, golden_key(c.key))}" for c in comparisons if not c.ok)


# --------------------------------------------------------------------------- tests
CASES = [pytest.param(name, group, id=f"{name}:{group}") for name, groups in FILES.items() for group in groups]


@pytest.mark.parametrize("name, group", CASES)
def test_matches_golden(goldens, name, group):
    g = goldens(name)
    g.assert_fingerprints()  # first: weights (fill_ / keys) before the forward code
    comparisons = check(g, g.results(unit_of(group)), FILES[name][group])
    assert all(c.ok for c in comparisons), failure_message(g, comparisons)


def test_every_golden_file_is_tested(golden_dir):
    files = {p.name for p in golden_dir.glob("*.pt")}
    tested = {f"{n}.pt" for n in FILES}
    assert files == tested, f"golden files without a test: {sorted(files - tested)}, missing: {sorted(tested - files)}"
    assert set(sha256sums(golden_dir)) == files | {"fill.py"}


@pytest.mark.parametrize("name", FILES)
def test_golden_lists_exactly_the_tested_keys(goldens, name):
    g = goldens(name)
    tested = {golden_key(label) for labels in FILES[name].values() for label in labels}
    assert set(g.outputs) == tested, f"{name}: untested golden keys {sorted(set(g.outputs) - tested)}, " \
                                     f"tested keys not in the golden {sorted(tested - set(g.outputs))}"
    assert set(g.config["tolerance"]) == set(g.outputs), f"{name}: keys without a tolerance or without an output"
    missing = [k for k in g.outputs if call_of(g.config["calls"], k).startswith("(no entry")]
    assert not missing, f"{name}: keys without a config['calls'] entry: {missing}"


def test_negative_control_detects_changed_weights(golden_dir):
    """The comparison can fail: another fill seed, and a 1 % change of one StyleGAN2 noise strength
    (README: relative change 4.3e-3 against a 1e-4 tolerance), are both reported."""
    g = Golden(golden_dir, "stylegan2-64")
    fill_ = load_fill(golden_dir)
    key = "image_wplus"
    expected_fp = g.gd["meta"]["fill_fingerprint"][g.name]

    (wrong_seed,) = build_nets(g.config, g.name).values()
    fill_(wrong_seed, g.gd["seed"] + 1)
    assert fingerprint_problems(fingerprint(wrong_seed), expected_fp), "another seed: fingerprint not flagged"
    c = compare(key, run_stylegan2({g.name: wrong_seed}, g.inputs, g.config, "")[key], g.outputs[key],
                g.config["tolerance"][key])
    assert not c.ok and c.err > 10 * c.bound, f"another seed: not reported as a violation: {c}"

    (perturbed,) = build_nets(g.config, g.name).values()
    fill_(perturbed, g.gd["seed"])
    strength = next(p for n, p in sorted(perturbed.named_parameters()) if n.endswith("noise.weight"))
    with torch.no_grad():
        strength.mul_(1.01)
    assert fingerprint_problems(fingerprint(perturbed), expected_fp), "1 % noise strength: fingerprint not flagged"
    ours = run_stylegan2({g.name: perturbed}, g.inputs, g.config, "")
    for k in (key, "image_z", "image_mix"):
        c = compare(k, ours[k], g.outputs[k], g.config["tolerance"][k])
        assert not c.ok, f"1 % noise strength: not reported as a violation: {c}"
        assert f"max|ours - golden| = {c.err:.3g}, allowed {c.bound:.3g}" in str(c)
