"""The paper profile's generator settings: EOGI's (fresh noise per generation, seeded by each
image's code; unclamped) and the fixed ones (stored noise maps; clamped)."""

from __future__ import annotations

import pytest
import torch

from paperlib.models.psp import PSP
from paperlib.profiles.paper import GENERATIONS, check_generation, generator, seeded_noise


@pytest.fixture(scope="module")
def decoder():
    torch.manual_seed(0)
    return PSP(size=64).eval().decoder


def test_eogi_noise_is_fresh_per_code_and_deterministic(decoder):
    w = torch.randn(3, decoder.n_latent, 512)
    a, b = seeded_noise(decoder, w), seeded_noise(decoder, w)
    assert all(torch.equal(x, y) for x, y in zip(a, b))                   # same codes: same noise, every run
    assert len(a) == decoder.num_layers and a[0].shape[0] == 3
    assert not torch.equal(a[-1][0], a[-1][1])                            # each image its own noise
    other = seeded_noise(decoder, w + 1e-3)                               # I' and T have other codes: other noise
    assert not any(torch.equal(x, y) for x, y in zip(a, other))
    stored = getattr(decoder.noises, f"noise_{decoder.num_layers - 1}")
    assert not torch.equal(a[-1][:1], stored)                             # not the stored maps


def test_eogi_generation_is_unclamped_and_batch_independent(decoder):
    torch.manual_seed(1)
    w = 3 * torch.randn(2, decoder.n_latent, 512)
    gen = generator(decoder, "eogi")
    out = gen(w)
    with torch.no_grad():
        ref, _ = decoder([w], input_is_latent=True, noise=seeded_noise(decoder, w))
    assert torch.equal(out, ref)                                          # no clamp
    split = torch.cat([gen(w[:1]), gen(w[1:])])
    assert (split - out).abs().max() <= 1e-5 * out.abs().max()  # the noise does not depend on the batch


def test_fixed_generation_is_clamped_with_stored_noise(decoder):
    torch.manual_seed(2)
    w = 3 * torch.randn(2, decoder.n_latent, 512)
    with torch.no_grad():
        ref, _ = decoder([w], input_is_latent=True, randomize_noise=False)
    out = generator(decoder, "fixed")(w)
    assert torch.equal(out, ref.clamp(-1, 1)) and out.abs().max() <= 1


def test_unknown_generation():
    assert GENERATIONS == ("eogi", "fixed")
    with pytest.raises(ValueError, match=r"^generation: expected one of eogi, fixed, got 'random'$"):
        check_generation("random")
