"""paperlib.evaluation.metrics: MAE, LPIPS, FID math, batching, and honesty about missing weights.

No network and no real weights here: LPIPS and FID use clearly labelled stand-ins (a random
AlexNet / a fixed random conv), which test the wiring and the math, never the paper's numbers.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from paperlib.evaluation import metrics
from paperlib.evaluation.metrics import FIDMetric, LPIPSMetric, MetricUnavailable

LPIPS_FILE = "alexnet-owt-7be5be79.pth"
FID_FILE = "pt_inception-2015-12-05-6726825d.pth"


@pytest.fixture
def empty_hub(tmp_path, monkeypatch):
    """torch hub and the paperlib cache both point at empty temporary folders."""
    hub = tmp_path / "hub"
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("PAPERLIB_HOME", str(tmp_path / "paperlib"))
    # restore torch.hub's own state afterwards (None = "follow TORCH_HOME"), not a fixed folder
    monkeypatch.setattr(torch.hub, "_hub_dir", getattr(torch.hub, "_hub_dir", None), raising=False)
    torch.hub.set_dir(str(hub))
    return hub


def images(n=4, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, size, size, generator=g)


class ConvFeatures(nn.Module):
    """TEST STAND-IN for the FID Inception: a fixed random conv + ReLU + global average pool (8-d)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.relu(self.conv(x)).mean(dim=(2, 3))


def lpips_stand_in():
    """TEST STAND-IN: lpips.LPIPS with a RANDOM AlexNet backbone (pnet_rand=True); not the paper's LPIPS."""
    import lpips
    import warnings

    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)


def expected_command(metric):
    """The download command must name an asset the registry really has."""
    from paperlib.infra import assets

    filename = {"lpips": LPIPS_FILE, "fid": FID_FILE}[metric]
    names = [a.name for a in assets.ASSETS.values() if a.filename == filename and a.alias_of is None]
    assert len(names) == 1, f"no single paperlib asset holds {filename}: {names}"
    return f"python -m paperlib download {names[0]}"


# -------------------------------------------------------------------------------------- MAE
def test_mae_by_hand():
    out = torch.tensor([[[[0.0, 1.0], [0.5, 0.25]]], [[[1.0, 1.0], [1.0, 1.0]]]])
    src = torch.tensor([[[[0.5, 0.5], [0.5, 0.5]]], [[[0.0, 1.0], [1.0, 1.0]]]])
    got = metrics.mae(out, src)
    assert got.shape == (2,)
    torch.testing.assert_close(got, torch.tensor([(0.5 + 0.5 + 0 + 0.25) / 4, 1 / 4]))
    # the authors' F.l1_loss per image, over all channels and pixels
    x, y = images(3, 8, 0), images(3, 8, 1)
    ref = torch.stack([torch.nn.functional.l1_loss(a, b) for a, b in zip(x, y)])
    torch.testing.assert_close(metrics.mae(x, y), ref)
    torch.testing.assert_close(metrics.mae(x, y), metrics.mae(y, x))


def test_summarize_uses_population_std():
    mean, std = metrics.summarize(torch.tensor([1.0, 2.0, 3.0, 6.0]))
    assert mean == pytest.approx(3.0)
    assert std == pytest.approx(np.std([1.0, 2.0, 3.0, 6.0]))  # ddof=0, as the authors' np.std
    assert std == pytest.approx(np.sqrt(3.5))
    assert metrics.summarize([0.5]) == (0.5, 0.0)
    with pytest.raises(ValueError, match=r"^values: expected at least one value"):
        metrics.summarize([])
    with pytest.raises(ValueError, match=r"^values: contains NaN"):
        metrics.summarize([1.0, float("nan")])


@pytest.mark.parametrize("fn", ["mae", "lpips"])
def test_bad_inputs_name_the_argument(fn):
    call = metrics.mae if fn == "mae" else LPIPSMetric(net=lambda x, y: (x - y).abs().flatten(1).mean(1))
    x = images(2, 8)
    cases = [
        ((x, images(2, 16)), r"^output, source: shapes must match, got output \(2, 3, 8, 8\), source \(2, 3, 16, 16\)$"),
        ((x * 2, x), r"^output: expected values in \[0, 1\], got \[.*\]$"),
        ((x, x - 1), r"^source: expected values in \[0, 1\], got \[.*\]$"),
        ((x[0], x), r"^output: expected 4 dimensions, got shape \(3, 8, 8\)$"),
        ((x, x.clone().fill_(float("nan"))), r"^source: contains NaN"),
        ((x, (x * 255).to(torch.uint8)), r"^source: expected a floating-point tensor"),
    ]
    for args, pattern in cases:
        with pytest.raises(ValueError, match=pattern) as info:
            call(*args)
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------ LPIPS
def test_lpips_identity_symmetry_batching():
    metric = LPIPSMetric(net=lpips_stand_in(), batch_size=3)  # TEST STAND-IN (random AlexNet)
    assert metric.stand_in
    x, y = images(5, 32, 0), images(5, 32, 1)
    same = metric(x, x)
    assert same.shape == (5,) and same.dtype == torch.float32
    assert torch.allclose(same, torch.zeros(5), atol=1e-7)
    d = metric(x, y)
    assert (d > 0).all()
    torch.testing.assert_close(d, metric(y, x), rtol=1e-5, atol=1e-7)
    # batching does not change per-image values: compare with one pair at a time
    one = torch.cat([metric(x[i:i + 1], y[i:i + 1]) for i in range(5)])
    torch.testing.assert_close(d, one, rtol=1e-5, atol=1e-7)


def test_lpips_feeds_minus_one_to_one():
    seen = []

    def net(a, b):
        seen.append((a.min().item(), a.max().item()))
        return (a - b).abs().flatten(1).mean(1)

    zeros, ones = torch.zeros(2, 3, 4, 4), torch.ones(2, 3, 4, 4)
    d = LPIPSMetric(net=net)(zeros, ones)
    assert seen == [(-1.0, -1.0)]
    torch.testing.assert_close(d, torch.full((2,), 2.0))
    with pytest.raises(ValueError, match=r"^net: returned shape \(1,\) for 2 image pairs"):
        LPIPSMetric(net=lambda a, b: torch.zeros(1))(zeros, ones)


def test_lpips_missing_weights(empty_hub):
    with pytest.raises(MetricUnavailable) as info:
        LPIPSMetric("cpu")
    msg = str(info.value)
    assert "\n" not in msg
    assert LPIPS_FILE in msg
    assert str(empty_hub / "checkpoints" / LPIPS_FILE) in msg
    assert f"`{expected_command('lpips')}`" in msg
    assert msg.startswith("lpips: ")


def test_lpips_loads_the_hub_file_not_random_weights(empty_hub):
    """With a file at the hub path, lpips.LPIPS loads it (offline) and our metric uses it.

    TEST STAND-IN FILE: a seeded random AlexNet saved under the real name; the big classifier
    tensors are stride-0 views of one zero so the file stays small.
    """
    import torchvision

    torch.manual_seed(3)
    sd = torchvision.models.alexnet(weights=None).state_dict()
    sd = {k: (v if k.startswith("features.") else torch.zeros(()).expand(v.shape)) for k, v in sd.items()}
    (empty_hub / "checkpoints").mkdir(parents=True)
    torch.save(sd, empty_hub / "checkpoints" / LPIPS_FILE)
    assert metrics.available_metrics()["lpips"] is None
    metric = LPIPSMetric("cpu", batch_size=2)
    assert not metric.stand_in
    torch.testing.assert_close(getattr(metric.net.net.slice1, "0").weight, sd["features.0.weight"])
    torch.testing.assert_close(getattr(metric.net.net.slice5, "10").bias, sd["features.10.bias"])
    x, y = images(3, 32, 0), images(3, 32, 1)
    assert torch.allclose(metric(x, x), torch.zeros(3), atol=1e-7)
    assert metric(x, y).shape == (3,)


# -------------------------------------------------------------------------------------- FID
def test_frechet_distance_closed_form_diagonal():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=6), rng.normal(size=6)
    s1, s2 = rng.uniform(0.1, 3, size=6), rng.uniform(0.1, 3, size=6)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(s1 + s2 - 2 * np.sqrt(s1 * s2))
    got = metrics.fid_from_stats(mu1, np.diag(s1), mu2, np.diag(s2))
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-10)
    assert metrics.fid_from_stats(mu2, np.diag(s2), mu1, np.diag(s1)) == pytest.approx(expected, rel=1e-10)
    assert metrics.fid_from_stats(mu1, np.diag(s1), mu1, np.diag(s1)) == pytest.approx(0, abs=1e-10)


def test_frechet_distance_closed_form_rotated():
    """Same covariance shape, rotated: for commuting sigma1 = Q A Q^T, sigma2 = Q B Q^T."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a, b = rng.uniform(0.2, 2, 5), rng.uniform(0.2, 2, 5)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(a + b - 2 * np.sqrt(a * b))
    got = metrics.fid_from_stats(torch.tensor(mu1), q @ np.diag(a) @ q.T, mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(expected, rel=1e-8)


def _full_rank(rng):
    return rng.normal(size=(40, 6)), rng.normal(size=(50, 6)) * 1.5 + 0.3


def _singular(rng):
    """Fewer images than feature dimensions (the paper: 1000 images, 2048 dims): singular
    covariances, where scipy's sqrtm (pytorch-fid's route) is itself inexact."""
    a = np.abs(rng.normal(size=(20, 64)))
    return a, np.abs(0.8 * a + 0.5 * rng.normal(size=(20, 64)) + 0.1)


@pytest.mark.parametrize("draw, seed, rel", [(_full_rank, 2, 1e-9), (_singular, 3, 1e-6)],
                         ids=["full-rank", "singular"])
def test_frechet_distance_matches_pytorch_fid(draw, seed, rel):
    import warnings
    from pytorch_fid.fid_score import calculate_frechet_distance

    a, b = draw(np.random.default_rng(seed))
    stats = (*metrics.activation_statistics(a), *metrics.activation_statistics(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = calculate_frechet_distance(*stats)
    assert metrics.fid_from_stats(*stats) == pytest.approx(ref, rel=rel)


def test_trace_sqrt_product_refuses_non_covariances():
    with pytest.raises(ValueError, match="sigma1: not a covariance matrix"):
        metrics.trace_sqrt_product(np.diag([1.0, -2.0]), np.eye(2))
    with pytest.raises(ValueError, match="sigma2: not a covariance matrix"):
        metrics.trace_sqrt_product(np.eye(2), np.array([[1.0, 0.0], [1.0, 1.0]]))


def test_fid_from_stats_bad_shapes():
    with pytest.raises(ValueError, match=r"^mu2: expected shape \(3,\) like mu1, got \(4,\)$"):
        metrics.fid_from_stats(np.zeros(3), np.eye(3), np.zeros(4), np.eye(3))
    with pytest.raises(ValueError, match=r"^sigma2: expected shape \(3, 3\) to match mu1, got \(2, 2\)$"):
        metrics.fid_from_stats(np.zeros(3), np.eye(3), np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match=r"^sigma1: expected 2 dimensions, got shape \(3,\)$"):
        metrics.fid_from_stats(np.zeros(3), np.ones(3), np.zeros(3), np.eye(3))


def test_fid_with_stand_in_features(tmp_path):
    fid = FIDMetric(features=ConvFeatures(), batch_size=3, progress=False)  # TEST STAND-IN
    assert fid.stand_in
    x, y = images(10, 12, 0), images(9, 12, 1) ** 2
    assert fid(x, x) == pytest.approx(0.0, abs=1e-6)
    d = fid(x, y)
    assert d > 1e-4
    assert fid(y, x) == pytest.approx(d, rel=1e-6)
    # statistics: ddof=1 covariance of the features; batching and iterables give the same
    act = fid.activations(x)
    assert act.shape == (10, 8) and act.dtype == np.float64
    with torch.no_grad():
        torch.testing.assert_close(torch.from_numpy(act).float(), ConvFeatures()(x), rtol=1e-5, atol=1e-6)
    mu, sigma = fid.statistics(iter([x[:4], x[4:]]))
    np.testing.assert_allclose(mu, act.mean(0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sigma, np.cov(act, rowvar=False, ddof=1), rtol=1e-5, atol=1e-9)
    # against a stats file, as the authors do
    path = metrics.save_stats(tmp_path / "sources", *fid.statistics(y))
    assert path.name == "sources.npz"
    assert fid.fid_to_stats(x, *metrics.load_stats(path)) == pytest.approx(d, rel=1e-9)


def test_fid_bad_inputs():
    fid = FIDMetric(features=ConvFeatures(), progress=False)
    with pytest.raises(ValueError, match=r"^images: expected values in \[0, 1\]"):
        fid.activations(images(3) + 1)
    with pytest.raises(ValueError, match=r"^images: expected 3 channels \(B, 3, H, W\), got shape \(2, 1, 8, 8\)$"):
        fid.activations(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"^activations: expected at least 2 feature vectors"):
        fid.statistics(images(1))
    with pytest.raises(ValueError, match=r"^images: expected at least one image, got none$"):
        fid.activations([])
    with pytest.raises(ValueError, match=r"^images: expected a \(N, 3, H, W\) tensor or an iterable"):
        fid.activations("folder/")
    with pytest.raises(ValueError, match=r"^batch_size: expected a positive integer, got 0$"):
        FIDMetric(features=ConvFeatures(), batch_size=0)


def test_fid_missing_weights(empty_hub):
    with pytest.raises(MetricUnavailable) as info:
        FIDMetric("cpu")
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("fid: ")
    assert str(empty_hub / "checkpoints" / FID_FILE) in msg
    assert f"`{expected_command('fid')}`" in msg
    assert "not fetched: PAPERLIB_OFFLINE=1" in msg  # FIDMetric fetches by default; the test session is offline
    avail = metrics.available_metrics(fetch=True)
    assert avail == {"mae": None, "lpips": avail["lpips"], "fid": msg}
    assert LPIPS_FILE in avail["lpips"]


def test_fid_real_network_wiring(empty_hub, monkeypatch):
    """With the file present, FIDMetric builds pytorch-fid's InceptionV3 and yields 2048-d features.

    TEST STAND-IN: pytorch-fid's weight loader is replaced by one that checks the hub file is
    there and returns the network's own random initialisation (wiring only, not the weights).
    """
    import pytorch_fid.inception as inc

    (empty_hub / "checkpoints").mkdir(parents=True)
    (empty_hub / "checkpoints" / FID_FILE).write_bytes(b"stand-in")
    built = []
    real_builder = inc._inception_v3

    def recording_builder(*args, **kwargs):
        built.append(real_builder(*args, **kwargs))
        return built[-1]

    def offline_loader(url, *args, **kwargs):
        assert (empty_hub / "checkpoints" / url.rsplit("/", 1)[-1]).is_file()
        return built[-1].state_dict()

    monkeypatch.setattr(inc, "_inception_v3", recording_builder)
    monkeypatch.setattr(inc, "load_state_dict_from_url", offline_loader)
    torch.manual_seed(0)
    fid = FIDMetric("cpu", batch_size=1, progress=False)
    assert not fid.stand_in and len(built) == 1
    inception = fid.features
    assert inception.resize_input and inception.normalize_input  # pytorch-fid resizes to 299, maps to [-1, 1]
    assert inception.output_blocks == [3] and inception.last_needed_block == 3  # pool3, 2048-d
    inception.resize_input = False  # only to keep the test fast on a CPU: 80 x 80 is enough for wiring
    act = fid.activations(images(2, 80))
    assert act.shape == (2, 2048) and np.isfinite(act).all()


def test_available_metrics_reports_reasons(empty_hub):
    avail = metrics.available_metrics()
    assert set(avail) == {"mae", "lpips", "fid"}
    assert avail["mae"] is None
    for name, file in (("lpips", LPIPS_FILE), ("fid", FID_FILE)):
        assert re.search(rf"^{name}: {re.escape(file)} \(.*\) is missing from .*`python -m paperlib download ", avail[name])


def test_weights_from_the_paperlib_cache_are_linked_in(empty_hub, tmp_path, monkeypatch):
    """A file fetched with `python -m paperlib download` (in $PAPERLIB_HOME) is verified and linked
    into torch hub's checkpoints; one that fails verification is refused, in one line."""
    from paperlib.infra import assets

    from paperlib.infra import download
    name = expected_command("fid").rsplit(" ", 1)[-1]
    cached = assets.cache_path(name)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the inception weights")
    with pytest.raises(MetricUnavailable, match=r"^fid: .*cannot be used \(VerificationError: ") as info:
        metrics.require_weights("fid")
    assert "\n" not in str(info.value) and not cached.exists()  # moved to rejected/ by the registry

    cached.write_bytes(b"stand-in accepted by a patched verifier")
    monkeypatch.setattr(download, "check_file", lambda asset, path: ("0" * 64, "test stand-in"))
    hub = metrics.require_weights("fid")
    assert hub == empty_hub / "checkpoints" / FID_FILE
    assert hub.is_file() and hub.read_bytes() == cached.read_bytes()
    assert metrics.available_metrics()["fid"] is None
