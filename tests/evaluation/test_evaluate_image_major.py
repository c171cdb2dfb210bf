"""Image-major evaluation: per image one inversion, one G(w), one parsing of I and one encoding
of I' (its 6 TTA views), shared by every attribute and mask variant; per attribute one
G(w + alpha n), one parsing of T, two CAM passes (plain and TTA), and a blend per variant; the
deghosting of every variant of every attribute in batched calls. Counted on the paper profile's
wiring with small random-init networks (the real ones at 1024² are exercised by the goldens and
the full-size dry run)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest
import torch

from paperlib.evaluation.evaluate import compute_chunk
from paperlib.evaluation.methods import ALL_METHODS, MASK_METHODS
from paperlib.method.pipeline import DEGHOST_IMAGES, VARIANTS, edit_variants
from paperlib.profiles import Setup

ATTRS = ("Beard", "Smiling")


class Plain(torch.nn.Module):
    """The DiffNet behind another type: the pipeline does not share E(I') for it."""

    in_channels = 6

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.target_layer = net.target_layer

    def forward(self, x):
        return self.net(x)
N = 2


@pytest.fixture(scope="module")
def counted():
    from helpers import small_paper_components
    from paperlib.profiles.paper import baseline_editor

    c, psp, _ = small_paper_components(ATTRS, generation="eogi")
    net = c.classifier
    calls: Counter = Counter()
    sizes: dict = {}

    def count(name, fn):
        def wrapped(x, *args):
            calls[name] += 1
            sizes.setdefault(name, []).append(x.shape[0])
            return fn(x, *args)
        return wrapped

    c = dataclasses.replace(c, invert=count("invert", c.invert), generate=count("generate", c.generate),
                            parse=count("parse", c.parse), deghost=count("deghost", c.deghost))
    net.shared.register_forward_hook(lambda m, i, o: calls.update(["encoder"]))
    net.classifier.register_forward_hook(lambda m, i, o: calls.update(["cam pass"]))
    src = torch.rand(N, 3, 64, 64) * 2 - 1
    editor = baseline_editor(psp, {"Old": torch.randn(1, 512), "Smiling": torch.randn(1, 512)}, device="cpu")
    setup = Setup(profile="paper", components=c, n_images=N, load_sources=lambda idx: src[list(idx)],
                  baselines={"e4e": count("e4e", editor)}, unavailable={"ReStyle": "not in this test"})
    return setup, calls, sizes


def test_network_calls_per_image_and_attribute(counted):
    setup, calls, sizes = counted
    calls.clear()
    sizes.clear()
    todo = {a: [m for m in ALL_METHODS if m != "ReStyle" and (m != "e4e" or a in ("Old", "Smiling"))] for a in ATTRS}
    out = compute_chunk(setup, range(N), todo)
    k = len(ATTRS)
    assert calls["invert"] == 1 and calls["parse"] == 1 + k          # I once; T once per attribute
    assert calls["generate"] == 1 + k                                  # G(w) once; G(w + alpha n) per attribute
    judged = sum(3 + len(out[a][0]) for a in ATTRS)                    # the classifier judge: E(I), E(I'), E(T), E(F)
    assert calls["encoder"] == 1 + 2 * k + judged                      # E(I') once (6 views); E(T) per CAM pass
    logits = sum(2 + len(out[a][0]) for a in ATTRS)                    # the judge: no difference, T, each F
    assert calls["cam pass"] == 2 * k + logits                         # plain + TTA per attribute, all variants
    images = len(MASK_METHODS) * k * N                                 # every variant of every attribute, batched
    assert calls["deghost"] == -(-images // DEGHOST_IMAGES) and sum(sizes["deghost"]) == images
    assert all(s <= DEGHOST_IMAGES for s in sizes["deghost"])
    assert calls["e4e"] == 1                                           # its own inversion+edit (Smiling)
    assert set(sizes["invert"]) == {N} and set(sizes["generate"]) == {N}  # each call covers the whole batch
    for a in ATTRS:
        outputs, scores, kept = out[a]
        assert set(outputs) == set(todo[a]) and scores == {} and set(kept) == set(outputs)


def test_shared_work_gives_the_attribute_major_numbers(counted):
    """Encoding I' once changes nothing: each attribute's outputs equal those of the plain DiffNet
    (E(I') and E(T) in every pass), one attribute at a time."""
    setup, _, _ = counted
    todo = {a: ["pSp", *MASK_METHODS] for a in ATTRS}
    out = compute_chunk(setup, range(N), todo)
    src = setup.load_sources(range(N))
    plain = dataclasses.replace(setup.components, classifier=Plain(setup.components.classifier))
    for a in ATTRS:
        e = edit_variants(plain, src, a, tuple(VARIANTS))
        assert torch.equal(out[a][0]["pSp"], e.edited)
        for m, v in MASK_METHODS.items():
            assert torch.allclose(out[a][0][m], e.outputs[v], atol=1e-5), (a, m)


def test_baseline_editor_inverts_each_batch_once():
    """e4e / ReStyle edit Old and Smiling from one inversion of the same photos; new or modified
    photos are inverted again; the outputs equal those of a fresh editor."""
    from helpers import small_paper_components
    from paperlib.profiles.paper import baseline_editor

    _, psp, _ = small_paper_components(ATTRS)
    dirs = {"Old": torch.randn(1, 512), "Smiling": torch.randn(1, 512)}
    calls = Counter()
    invert = psp.invert
    psp.invert = lambda x: calls.update(["invert"]) or invert(x)
    editor = baseline_editor(psp, dirs, device="cpu", generation="fixed")
    src = torch.rand(2, 3, 64, 64) * 2 - 1
    old, smiling = editor(src, "Old"), editor(src, "Smiling")
    assert calls["invert"] == 1
    other = src.clone()
    editor(other, "Old")
    assert calls["invert"] == 2
    other.mul_(0.5)  # modified in place: inverted again
    editor(other, "Old")
    assert calls["invert"] == 3
    fresh = baseline_editor(psp, dirs, device="cpu", generation="fixed")
    assert torch.equal(fresh(src, "Smiling"), smiling) and torch.equal(fresh(src, "Old"), old)
