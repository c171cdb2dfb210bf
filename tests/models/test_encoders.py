"""The inversion encoders (pSp, e4e, ReStyle-pSp, ReStyle-e4e) and their wrappers.

Full-size encoders are built once per kind for a 256x256 forward and then the manifest
comparison (one test per kind). The wrappers are tested against a small
real StyleGAN2 generator (16 px, 6 latents, style_dim 64) and encoders whose style heads give
64-d vectors (``style_dim=64``); their IR-SE-50 backbone is the full one, fed 16x16 or 32x32
faces, which the heads reduce to one vector each as they do 256x256 ones.
"""


import pytest
import torch
import torch.nn.functional as F

from helpers import assert_matches_manifest
from paperlib.models import REGISTRY
from paperlib.models._checkpoint import CheckpointMismatch
from paperlib.models.e4e import E4E, Encoder4Editing
from paperlib.models.irse import block_specs, stage_ends
from paperlib.models.psp import PSP, GradualStyleEncoder
from paperlib.models.restyle import BackboneEncoder, ProgressiveBackboneEncoder, ReStyle
from paperlib.models.stylegan2 import Generator

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: one torch thread for this module

FULL = {
    "psp": (GradualStyleEncoder, "psp-gradual-style-encoder.json"),
    "e4e": (Encoder4Editing, "e4e-encoder4editing.json"),
    "restyle-psp": (BackboneEncoder, "restyle-psp-backbone-encoder.json"),
    "restyle-e4e": (ProgressiveBackboneEncoder, "restyle-e4e-backbone-encoder.json"),
}
N_ENC = 8  # small encoders: 3 coarse, 4 middle and 1 fine head, 64-d styles, 32x32 input
IMG = 32
SMALL = dict(size=16, style_dim=64, n_mlp=2, channel_multiplier=1)  # wrappers: 6 latents, 16 px
N_SMALL = 6
WIMG = 16


def randomize(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Seeded non-default buffers (BN statistics, noise maps, latent_avg), so a loader that
    skipped them would be caught; weights keep their random initialisation."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.named_buffers():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn(t.shape, generator=g) * (0.1 if name.endswith("running_mean") else 1.0))
    return module.eval()


def official_ckpt(model, latent_avg=None, opts=None, drop=(), extra=None, reshape=None):
    """``model`` in the official pSp-family layout, optionally broken in one way."""
    sd = {f"encoder.{k}": v for k, v in model.encoder.state_dict().items()}
    sd.update({f"decoder.{k}": v for k, v in model.decoder.state_dict().items()})
    for k in drop:
        del sd[k]
    sd.update(extra or {})
    for k, shape in (reshape or {}).items():
        sd[k] = torch.zeros(shape)
    ckpt = {"state_dict": sd, "opts": {"start_from_latent_avg": True, **(opts or {})}}
    if latent_avg is not False:
        ckpt["latent_avg"] = model.latent_avg.clone() if latent_avg is None else latent_avg
    return ckpt


def official_file(model, path, **how):
    torch.save(official_ckpt(model, **how), path)
    return path


@pytest.fixture
def in_memory(monkeypatch):
    """Serve a checkpoint dict to the loaders without writing ~170 MB (error paths only)."""
    def serve(ckpt):
        monkeypatch.setattr("paperlib.models.psp.read_checkpoint", lambda path: ckpt)
        return "in-memory.pt"
    return serve


def x_img(b=1, seed=0, size=IMG):
    return torch.rand(b, 3, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


# ----------------------------------------------------------------------------- full size


@pytest.fixture(params=list(FULL))
def full(request):
    cls, manifest = FULL[request.param]
    torch.manual_seed(0)
    return request.param, cls().eval(), manifest


def test_forward_256_gives_18_styles_and_state_dict_equals_official_manifest(full, shared):
    """One full-size encoder per kind: the 256x256 forward first, then the manifest comparison (whose
    strict load of zeros overwrites the weights; no copy of the ~270M-parameter network needed)."""
    _, enc, manifest = full
    x = torch.rand(1, enc.in_channels, 256, 256, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        w = enc(x)
    assert w.shape == (1, 18, 512)
    assert torch.isfinite(w).all()
    assert w.std() > 0
    assert_matches_manifest(enc, shared / "manifests" / manifest)


def test_irse50_layout():
    assert [len(s) for s in block_specs(50)] == [3, 4, 14, 3]
    assert stage_ends(50) == (2, 6, 20, 23)  # the official taps c1, c2, c3 are units 6, 20, 23
    with pytest.raises(ValueError, match=r"^num_layers: expected one of 50, 100, 152, got 34$"):
        block_specs(34)


# --------------------------------------------------------------------- encoder semantics


@pytest.fixture(scope="module")
def small_encoders():
    torch.manual_seed(0)
    return {
        "psp": randomize(GradualStyleEncoder(n_styles=N_ENC, style_dim=64), 1),
        "e4e": randomize(Encoder4Editing(stylegan_size=32, style_dim=64), 2),
        "restyle-psp": randomize(BackboneEncoder(n_styles=N_ENC, style_dim=64), 3),
        "restyle-e4e": randomize(ProgressiveBackboneEncoder(n_styles=N_ENC, style_dim=64), 4),
    }


@torch.no_grad()
def test_gradual_style_encoder_reads_the_pyramid(small_encoders):
    enc = small_encoders["psp"]
    x = x_img()
    w = enc(x)
    c3, p2, p1 = enc.pyramid(x)
    assert c3.shape[-1] * 2 == p2.shape[-1] == p1.shape[-1] // 2
    assert w.shape == (1, N_ENC, 64)
    # coarse heads 0-2 read the stage-4 map, middle 3-6 the 2x map, fine 7.. the 4x map (16, 32, 64 px at 256)
    for i, feat in ((0, c3), (2, c3), (3, p2), (6, p2), (7, p1)):
        assert torch.allclose(w[:, i], enc.styles[i](feat), atol=1e-6)


@torch.no_grad()
def test_e4e_is_w0_plus_deltas(small_encoders):
    enc = small_encoders["e4e"]
    assert enc.n_styles == N_ENC and enc.progressive_stage == N_ENC
    x = x_img()
    w = enc(x)
    c3, p2, p1 = enc.pyramid(x)
    w0 = enc.styles[0](c3)
    assert torch.allclose(w[:, 0], w0, atol=1e-6)
    for i, feat in ((1, c3), (3, p2), (7, p1)):
        assert torch.allclose(w[:, i], w0 + enc.styles[i](feat), atol=1e-5)
    enc.progressive_stage = 0  # e4e's first training stage: one w repeated
    try:
        assert torch.allclose(enc(x), w0.unsqueeze(1).expand(-1, N_ENC, -1), atol=1e-6)
    finally:
        enc.progressive_stage = N_ENC


@torch.no_grad()
def test_restyle_encoders_read_the_last_map(small_encoders):
    x6 = torch.cat([x_img(seed=1), x_img(seed=2)], 1)
    psp, e4e = small_encoders["restyle-psp"], small_encoders["restyle-e4e"]
    w, feat = psp(x6), psp.last_map(x6)
    for i in (0, 4, 7):
        assert torch.allclose(w[:, i], psp.styles[i](feat), atol=1e-6)
    w, feat = e4e(x6), e4e.last_map(x6)
    w0 = e4e.styles[0](feat)
    assert torch.allclose(w[:, 0], w0, atol=1e-6)
    assert torch.allclose(w[:, 5], w0 + e4e.styles[5](feat), atol=1e-5)


def test_encoder_input_errors(small_encoders):
    with pytest.raises(ValueError, match=r"^x: expected 6 channels, got 3 \(shape \(1, 3, 32, 32\)\)$"):
        small_encoders["restyle-psp"](x_img())
    with pytest.raises(ValueError, match=r"^x: expected a height and width between 16 and 256 .* got 512x512$"):
        small_encoders["psp"](torch.zeros(1, 3, 512, 512))
    with pytest.raises(ValueError, match=r"^x: expected 4 dimensions, got shape \(3, 32, 32\)$"):
        small_encoders["e4e"](torch.zeros(3, 32, 32))
    with pytest.raises(ValueError, match=r"^mode: expected one of ir, ir_se, got 'se'$"):
        GradualStyleEncoder(mode="se")


# ------------------------------------------------------------------------------ wrappers


@pytest.fixture(scope="module")
def wrappers():
    torch.manual_seed(0)
    return {
        "psp": randomize(PSP(**SMALL), 11),
        "e4e": randomize(E4E(**SMALL), 12),
        "restyle-psp": randomize(ReStyle("psp", n_iters=3, **SMALL), 13),
        "restyle-e4e": randomize(ReStyle("e4e", n_iters=3, **SMALL), 14),
    }


def test_wrappers_have_official_parts(wrappers):
    for name, cls in (("psp", GradualStyleEncoder), ("e4e", Encoder4Editing),
                      ("restyle-psp", BackboneEncoder), ("restyle-e4e", ProgressiveBackboneEncoder)):
        model = wrappers[name]
        assert type(model.encoder) is cls
        assert isinstance(model.decoder, Generator) and model.decoder.n_latent == N_SMALL
        assert model.latent_avg.shape == (N_SMALL, 64)
        keys = model.state_dict().keys()
        assert "latent_avg" in keys
        assert {k.split(".")[0] for k in keys} == {"encoder", "decoder", "latent_avg"}
    assert REGISTRY["psp-ffhq-encode"][:2] == ("paperlib.models.psp", "PSP")
    assert REGISTRY["restyle-e4e-ffhq-encode"][2] == {"variant": "e4e"}


@torch.no_grad()
@pytest.mark.parametrize("name", ["psp", "e4e"])
def test_psp_family_invert_and_forward(wrappers, name):
    model = wrappers[name]
    x = x_img(2, size=WIMG)
    codes = model.encoder(x)
    w = model.invert(x)
    assert w.shape == (2, N_SMALL, 64)
    assert torch.allclose(w, codes + model.latent_avg, atol=1e-6)  # eq 1 with start_from_latent_avg
    image, w2 = model(x)
    assert torch.equal(w2, w)
    assert image.shape == (2, 3, WIMG, WIMG) and torch.isfinite(image).all()
    assert torch.allclose(image, model.decoder([w], input_is_latent=True, randomize_noise=False)[0])
    model.start_from_latent_avg = False
    try:
        assert torch.allclose(model.invert(x), codes, atol=1e-6)
    finally:
        model.start_from_latent_avg = True


def test_large_faces_are_pooled_to_256(wrappers):
    x = torch.rand(1, 3, 1024, 1024)
    prepared = wrappers["psp"].prepare(x)
    assert prepared.shape == (1, 3, 256, 256)
    assert torch.allclose(prepared, F.avg_pool2d(x, 4), atol=1e-6)
    small = x_img(size=WIMG)
    assert wrappers["psp"].prepare(small) is small
    with pytest.raises(ValueError, match=r"^images: expected 3 channels \(RGB in \[-1, 1\]\), got 1$"):
        wrappers["psp"].invert(torch.zeros(1, 1, WIMG, WIMG))


def _count_calls(module):
    calls = []
    handle = module.register_forward_hook(lambda m, i, o: calls.append(getattr(i[0], "shape", None)))
    return calls, handle


@torch.no_grad()
@pytest.mark.parametrize("name", ["restyle-psp", "restyle-e4e"])
def test_restyle_runs_n_iters_residual_steps(wrappers, name):
    model = wrappers[name]
    x = x_img(2, seed=5, size=WIMG)
    enc_calls, h1 = _count_calls(model.encoder)
    dec_calls, h2 = _count_calls(model.decoder)
    try:
        image, w = model(x)
        assert len(enc_calls) == 3 and all(s == (2, 6, WIMG, WIMG) for s in enc_calls)
        assert len(dec_calls) == 1 + 3  # y_0 from latent_avg, then one image per step
        enc_calls.clear()
        w2 = model.invert(x, n_iters=2)
        assert len(enc_calls) == 2
    finally:
        h1.remove()
        h2.remove()
    assert image.shape == (2, 3, WIMG, WIMG) and w.shape == (2, N_SMALL, 64)
    assert torch.isfinite(image).all() and torch.isfinite(w).all()
    # the same two steps by hand: w_{t+1} = w_t + E([x, pool(G(w_t))]), starting from latent_avg
    dec = model.decode
    w_t = model.latent_avg.expand(2, -1, -1)
    for _ in range(2):
        y_t = F.adaptive_avg_pool2d(dec(w_t), (WIMG, WIMG))
        w_t = w_t + model.encoder(torch.cat([x, y_t], 1))
    assert torch.allclose(w2, w_t, atol=1e-5)


def test_wrapper_argument_errors(small_encoders):
    with pytest.raises(ValueError, match=r"^variant: expected one of psp, e4e, got 'pti'$"):
        ReStyle("pti")
    with pytest.raises(ValueError, match=r"^n_iters: expected a positive integer, got 0$"):
        ReStyle("psp", n_iters=0)
    with pytest.raises(ValueError, match=r"^encoder: gives 8 styles, expected n_styles=10$"):
        PSP(size=64, encoder=small_encoders["psp"])
    with pytest.raises(ValueError, match=r"^decoder: takes 6 latents, expected n_styles=8$"):
        PSP(size=32, encoder=small_encoders["psp"], decoder=Generator(16, 64, 1, channel_multiplier=1))
    with pytest.raises(ValueError, match=r"^encoder: expected 6 input channels \[x, y_t\], got 3$"):
        ReStyle("psp", size=32, encoder=small_encoders["psp"])
    with pytest.raises(ValueError, match=r"^size: expected a power of two >= 8"):
        PSP(size=100)


# ----------------------------------------------------------------------- official files


@torch.no_grad()
@pytest.mark.parametrize("name", ["psp", "e4e", "restyle-psp", "restyle-e4e"])
def test_official_layout_round_trip(wrappers, name, tmp_path):
    model = wrappers[name]
    path = official_file(model, tmp_path / "model.pt")
    if name.startswith("restyle"):
        loaded = ReStyle.from_checkpoint(path, variant=name.split("-")[1], n_iters=1, **SMALL)
        x = x_img(seed=3, size=WIMG)
        out, ref = loaded(x), model(x, n_iters=1)
    else:
        loaded = type(model).from_checkpoint(path, **SMALL)
        out, ref = loaded(x_img(seed=3, size=WIMG)), model(x_img(seed=3, size=WIMG))
    assert not loaded.training
    assert torch.equal(loaded.latent_avg, model.latent_avg)
    for a, b in zip(out, ref):
        assert torch.equal(a, b)


def test_official_latent_avg_shapes_and_opts(wrappers, in_memory):
    model = wrappers["psp"]
    vec = torch.randn(64)
    loaded = PSP.from_checkpoint(in_memory(official_ckpt(model, latent_avg=vec)), **SMALL)
    assert torch.equal(loaded.latent_avg, vec.expand(N_SMALL, 64))  # a single 512-d average is repeated
    assert loaded.start_from_latent_avg is True
    # opts decides start_from_latent_avg; without it the file needs no latent_avg
    path = in_memory(official_ckpt(model, latent_avg=False, opts={"start_from_latent_avg": False}))
    loaded = PSP.from_checkpoint(path, **SMALL)
    assert loaded.start_from_latent_avg is False
    assert not loaded.latent_avg.any()
    with pytest.raises(CheckpointMismatch, match=r"^in-memory\.pt: missing latent_avg"):
        PSP.from_checkpoint(path, start_from_latent_avg=True, **SMALL)  # asked for, not in the file


@pytest.mark.parametrize("how, message", [
    ({"drop": ["encoder.styles.5.linear.bias"]}, r"\(encoder\.\*\): does not match GradualStyleEncoder: missing 1: styles\.5\.linear\.bias$"),
    ({"extra": {"encoder.latlayer3.weight": torch.zeros(1)}}, r"\(encoder\.\*\): does not match GradualStyleEncoder: unexpected 1: latlayer3\.weight$"),
    ({"reshape": {"encoder.input_layer.0.weight": (64, 6, 3, 3)}}, r"wrong shape 1: input_layer\.0\.weight \(64, 6, 3, 3\) vs \(64, 3, 3, 3\)$"),
    ({"drop": ["decoder.noises.noise_0"]}, r"\(decoder\.\*\): does not match Generator: missing 1: noises\.noise_0$"),
    ({"latent_avg": torch.zeros(18, 512)}, r"latent_avg has shape \(18, 512\), expected \(6, 64\) or \(64,\)$"),
])
def test_official_layout_mismatch_names_the_key(wrappers, in_memory, how, message):
    path = in_memory(official_ckpt(wrappers["psp"], **how))
    with pytest.raises(CheckpointMismatch, match=message):
        PSP.from_checkpoint(path, **SMALL)


def test_official_layout_structure_errors(wrappers, in_memory):
    path = in_memory(wrappers["psp"].encoder.state_dict())  # a raw state_dict
    with pytest.raises(CheckpointMismatch, match=r"^in-memory\.pt: expected the pSp layout \(a dict with 'state_dict', 'latent_avg', 'opts'\), got \['input_layer\.0\.weight'"):
        PSP.from_checkpoint(path, **SMALL)
    path = in_memory(official_ckpt(wrappers["restyle-psp"], latent_avg=False))
    with pytest.raises(CheckpointMismatch, match=r"^in-memory\.pt: missing latent_avg"):
        ReStyle.from_checkpoint(path, variant="psp", **SMALL)
    # a pSp file is not a ReStyle one: FPN layers left over, 3 input channels instead of 6
    path = in_memory(official_ckpt(wrappers["psp"]))
    with pytest.raises(CheckpointMismatch, match=r"\(encoder\.\*\): does not match BackboneEncoder: unexpected \d+: latlayer1\.bias, latlayer1\.weight, .*; wrong shape 1: input_layer\.0\.weight \(64, 3, 3, 3\) vs \(64, 6, 3, 3\)$"):
        ReStyle.from_checkpoint(path, variant="psp", **SMALL)


# ------------------------------------------------------------- opts: encoder type, output size
@pytest.mark.parametrize("loader, kwargs, kind, what, use", [
    (PSP, {}, "Encoder4Editing", "an e4e checkpoint", "E4E.from_checkpoint"),
    (PSP, {}, "BackboneEncoder", "a ReStyle-pSp checkpoint", 'ReStyle.from_checkpoint(path, variant="psp")'),
    (E4E, {}, "GradualStyleEncoder", "a pSp checkpoint", "PSP.from_checkpoint"),
    (ReStyle, {"variant": "psp"}, "ProgressiveBackboneEncoder", "a ReStyle-e4e checkpoint",
     'ReStyle.from_checkpoint(path, variant="e4e")'),
    (ReStyle, {"variant": "e4e"}, "GradualStyleEncoder", "a pSp checkpoint", "PSP.from_checkpoint"),
])
def test_loader_refuses_another_encoder_type(wrappers, in_memory, loader, kwargs, kind, what, use):
    """pSp, e4e and ReStyle share key names: without this check an e4e file loads into pSp silently."""
    model = wrappers["psp"]
    path = in_memory(official_ckpt(model, opts={"encoder_type": kind}))
    with pytest.raises(CheckpointMismatch) as e:
        loader.from_checkpoint(path, **kwargs, **SMALL)
    msg = str(e.value)
    assert msg.startswith(f"in-memory.pt: is {what} (opts encoder_type {kind!r}), not ")
    assert f"; load it with {use}" in msg and "\n" not in msg


def test_loader_refuses_another_output_size(wrappers, in_memory):
    model = wrappers["psp"]
    path = in_memory(official_ckpt(model, opts={"encoder_type": "GradualStyleEncoder", "output_size": 1024}))
    with pytest.raises(CheckpointMismatch, match=rf"^in-memory\.pt: is a checkpoint for 1024x1024 images \(opts "
                       rf"output_size\), not {SMALL['size']}x{SMALL['size']}; load it with "
                       r"PSP\.from_checkpoint\(path, size=1024\)$"):
        PSP.from_checkpoint(path, **SMALL)


def test_loader_accepts_matching_opts(wrappers, in_memory):
    for name, loader, kwargs, kind in (("psp", PSP, {}, "GradualStyleEncoder"), ("e4e", E4E, {}, "Encoder4Editing"),
                                       ("restyle-e4e", ReStyle, {"variant": "e4e", "n_iters": 3},
                                        "ProgressiveBackboneEncoder")):
        model = wrappers[name]
        path = in_memory(official_ckpt(model, opts={"encoder_type": kind, "output_size": SMALL["size"]}))
        loaded = loader.from_checkpoint(path, **kwargs, **SMALL)
        assert torch.equal(loaded.latent_avg, model.latent_avg)
