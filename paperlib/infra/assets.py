"""The registry of every external file the ``paper`` profile needs, and the local cache.

Each :class:`Asset` says where a file comes from (Google Drive id and/or URLs), how it is checked
(published size and sha256 where known; otherwise "it loads strictly as its network", after
which its sha256 is recorded), who made it and under which license, and which step of the
paper needs it. Nothing is downloaded implicitly, except the LPIPS and FID weights, which the
evaluation fetches when missing (as lpips and pytorch-fid do; :func:`paperlib.evaluation.metrics.require_weights`,
through the same verified download, never under ``PAPERLIB_OFFLINE=1``): ``python -m paperlib download NAME``
(:func:`paperlib.infra.download.download`) fetches and verifies a file into the cache, and
:func:`paperlib.infra.download.asset_path` returns the verified cached file or raises a one-line
:class:`FileNotFoundError` that gives the command to run and where to put the file by hand.
This module is the registry and the cache's bookkeeping only: of paperlib it imports only atomic writes
(:mod:`.files`) and the photo suffixes (:mod:`.images`).

The cache is ``$PAPERLIB_HOME`` (default ``~/.cache/paperlib``)::

    checkpoints/   psp_ffhq_encode.pt, e4e_ffhq_encode.pt, ..., 79999_iter.pth, deghosting.pt
    directions/    eogi/Beard.npy ... eogi/Smiling.npy, interfacegan/age.pt, interfacegan/smile.pt
    metrics/       pt_inception-2015-12-05-6726825d.pth, alexnet-owt-7be5be79.pth
    hashes.json    what was verified, how, and the sha256 of every cached file

A file only enters the cache through an atomic rename after verification; ``hashes.json`` records
its size and mtime, so a file replaced or placed by hand is verified again on first use.

``stylegan2-ffhq`` has no file of its own: the generator EOGI and this paper use is the
``decoder.*`` inside pSp's ``psp_ffhq_encode.pt`` (pSp trains only the encoder, so it is
rosinality's conversion of NVIDIA's FFHQ config-f weights), and
``paperlib.models.stylegan2.Generator.from_checkpoint`` reads it from there. That saves a
second ~360 MB download; rosinality's ``stylegan2-ffhq-config-f.pt`` (Google Drive id
``1EM87UquaoQmk17Q8d5kYIAHqu0dkYqdT``, ``g_ema`` layout) also loads through
``paperlib.models.load("stylegan2-ffhq", path)`` when passed by path.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from .files import write_json
from .images import IMAGE_SUFFIXES

#: Environment variables.
HOME_ENV = "PAPERLIB_HOME"
OFFLINE_ENV = "PAPERLIB_OFFLINE"
MIRROR_ENV = "PAPERLIB_MIRROR"
CELEBA_ENV = "PAPERLIB_CELEBA_HQ"

#: The paper evaluates on the first 1000 CelebA-HQ images (by index) at 1024 x 1024.
CELEBA_HQ_N = 1000

RECORDS = "hashes.json"
PARTIAL = ".partial"
REJECTED = "rejected"

_CITE = {
    "psp": "Richardson et al., Encoding in Style: a StyleGAN Encoder for Image-to-Image Translation, CVPR 2021",
    "e4e": "Tov et al., Designing an Encoder for StyleGAN Image Manipulation, SIGGRAPH 2021",
    "restyle": "Alaluf, Patashnik, Cohen-Or, ReStyle: A Residual-Based StyleGAN Encoder via Iterative Refinement, ICCV 2021",
    "eogi": "Song et al., Editing Out-of-Domain GAN Inversion via Differential Activations, ECCV 2022",
    "bisenet": "Yu et al., BiSeNet, ECCV 2018; weights: zllrunning/face-parsing.PyTorch (CelebAMask-HQ, Lee et al., CVPR 2020)",
    "interfacegan": "Shen et al., Interpreting the Latent Space of GANs for Semantic Face Editing (InterFaceGAN), CVPR 2020; files from omertov/encoder4editing",
    "fid": "Heusel et al., GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium, NeurIPS 2017; port: mseitzer/pytorch-fid",
    "lpips": "Zhang et al., The Unreasonable Effectiveness of Deep Features as a Perceptual Metric, CVPR 2018; AlexNet: Krizhevsky, arXiv:1404.5997 (torchvision weights)",
    "celeba": "Karras et al., Progressive Growing of GANs, ICLR 2018 (CelebA-HQ); Liu et al., Deep Learning Face Attributes in the Wild, ICCV 2015 (CelebA)",
}
_STYLEGAN_NC = "the embedded StyleGAN2 FFHQ generator derives from NVIDIA's weights (Nvidia Source Code License-NC, non-commercial)"
_EOGI_LICENSE = "no license file in HaoruiSong622/Editing-Out-of-Domain; research use, cite the paper"
_EOGI_RAW = "https://raw.githubusercontent.com/HaoruiSong622/Editing-Out-of-Domain/{ref}/directions/{file}"
_EOGI_COMMIT = "6ff0d36401c05b096d7080b14fc8e346979ffb47"
_E4E_RAW = "https://raw.githubusercontent.com/omertov/encoder4editing/{ref}/editings/interfacegan_directions/{file}"
_E4E_COMMIT = "99ea50578695d2e8a1cf7259d8ee89b23eea942b"


@dataclass(frozen=True)
class Asset:
    """One external thing the ``paper`` profile needs.

    ``file`` is the cache path relative to ``$PAPERLIB_HOME`` (None for a user-supplied folder
    or an alias). Sources are tried in order: ``$PAPERLIB_MIRROR/<file name>`` when set, the
    Google Drive ``drive_id``, then ``urls``. Verification: ``size`` and ``sha256`` when
    published, ``sha256_prefix`` for torch-hub style names (``name-<prefix>.pth``), and
    ``network`` (a :data:`paperlib.models.REGISTRY` name) for files that must load strictly.
    ``torch_hub`` files are also linked into ``torch.hub.get_dir()/checkpoints`` where lpips and
    pytorch-fid look for them.
    """

    name: str
    kind: str  # "checkpoint", "direction", "metric", "dataset"
    title: str
    used_by: str
    citation: str
    license: str
    file: str | None = None
    drive_id: str | None = None
    urls: tuple[str, ...] = ()
    size: int | None = None
    sha256: str | None = None
    sha256_prefix: str | None = None
    network: str | None = None
    alias_of: str | None = None
    torch_hub: bool = False
    env: str | None = None

    @property
    def filename(self) -> str | None:
        return None if self.file is None else Path(self.file).name

    @property
    def downloadable(self) -> bool:
        return self.file is not None and self.alias_of is None

    @property
    def home_url(self) -> str | None:
        """Where a person can fetch the file by hand (a browser link)."""
        if self.drive_id:
            return f"https://drive.google.com/file/d/{self.drive_id}/view"
        return self.urls[0] if self.urls else None


def _checkpoint(name, file, title, used_by, citation, license, drive_id, *, size=None, network=None):
    return Asset(name=name, kind="checkpoint", title=title, used_by=used_by, citation=citation,
                 license=license, file=f"checkpoints/{file}", drive_id=drive_id, size=size,
                 network=network or name)


def _eogi_direction(attr: str, sha256: str) -> Asset:
    file = f"{attr}.npy"
    return Asset(
        name=f"eogi-direction-{attr.lower().replace('_', '-')}", kind="direction",
        title=f"EOGI's {attr} direction in W+ ((18, 512) float64)",
        used_by=f"eq 3 edit w + 20 n ({attr}); EOGI and Diff-CAM++ columns, figures 2-4, tables 1-3",
        citation=_CITE["eogi"], license=_EOGI_LICENSE, file=f"directions/eogi/{file}",
        urls=(_EOGI_RAW.format(ref=_EOGI_COMMIT, file=file), _EOGI_RAW.format(ref="master", file=file)),
        size=73856, sha256=sha256)


def _interfacegan(attr: str, sha256: str) -> Asset:
    file = f"{attr}.pt"
    return Asset(
        name=f"interfacegan-{attr}", kind="direction",
        title=f"InterFaceGAN {attr} direction used by e4e/ReStyle ((1, 512) float32)",
        used_by="e4e and ReStyle baselines (Old / Smiling): tables 1-3, figure 4 (c, d)",
        citation=_CITE["interfacegan"], license="MIT (omertov/encoder4editing)",
        file=f"directions/interfacegan/{file}",
        urls=(_E4E_RAW.format(ref=_E4E_COMMIT, file=file), _E4E_RAW.format(ref="main", file=file)),
        size=2808, sha256=sha256)


_ASSETS: list[Asset] = [
    _checkpoint(
        "psp-ffhq-encode", "psp_ffhq_encode.pt", "pSp FFHQ encoder + StyleGAN2 decoder (1024 px)",
        "eq 1 inversion and eq 2-3 generator for every method; pSp baseline: tables 1-3, figure 4 (b)",
        _CITE["psp"], f"MIT (eladrich/pixel2style2pixel); {_STYLEGAN_NC}",
        "1bMTNWkh5LArlaWSc_wa8VKyq2V42T2z0"),
    Asset(
        name="stylegan2-ffhq", kind="checkpoint",
        title="StyleGAN2 FFHQ 1024 generator: the decoder.* inside psp_ffhq_encode.pt",
        used_by="eq 2-3 (I' = G(w), T = G(w + 20 n)) for every method",
        citation="Karras et al., Analyzing and Improving the Image Quality of StyleGAN, CVPR 2020; rosinality/stylegan2-pytorch",
        license=_STYLEGAN_NC, alias_of="psp-ffhq-encode", network="stylegan2-ffhq"),
    _checkpoint(
        "e4e-ffhq-encode", "e4e_ffhq_encode.pt", "e4e FFHQ encoder + StyleGAN2 decoder",
        "e4e baseline (Old, Smiling): tables 1-3, figure 4 (c)",
        _CITE["e4e"], f"MIT (omertov/encoder4editing); {_STYLEGAN_NC}",
        "1cUv_reLE6k3604or78EranS7XzuVMWeO"),
    _checkpoint(
        "restyle-psp-ffhq-encode", "restyle_psp_ffhq_encode.pt", "ReStyle over pSp, FFHQ",
        "ReStyle baseline (Old, Smiling): tables 1-3, figure 4 (d)",
        _CITE["restyle"], f"MIT (yuval-alaluf/restyle-encoder); {_STYLEGAN_NC}",
        "1sw6I2lRIB0MpuJkpc8F5BJiSZrc0hjfE"),
    _checkpoint(
        "restyle-e4e-ffhq-encode", "restyle_e4e_ffhq_encode.pt", "ReStyle over e4e, FFHQ",
        "ReStyle baseline (Old, Smiling): tables 1-3, figure 4 (d)",
        _CITE["restyle"], f"MIT (yuval-alaluf/restyle-encoder); {_STYLEGAN_NC}",
        "1e2oXVeBPXMQoUoC_4TNwAWpOPpSEhE_e"),
    _checkpoint(
        "face-parsing-bisenet", "79999_iter.pth", "BiSeNet face parsing, 19 CelebAMask-HQ classes",
        "eq 10 segmentation masks S_org, S_modif: Diff-CAM++ column, figures 2 (e, f), 3 (f), 4 (f), tables 1-3",
        _CITE["bisenet"], "MIT (zllrunning/face-parsing.PyTorch); trained on CelebAMask-HQ (non-commercial research)",
        "154JgKpzCPW82qINcVieuPH3fZ2e0P812", size=53_289_463),
    _checkpoint(
        "eogi-diffcam", "diff_cam_weight.pt", "EOGI's differential classifier (ResNet101, 17 classes)",
        "eq 4-8 Diff-CAM / Diff-CAM++ activation maps: EOGI and Diff-CAM++ columns, figures 2-4, tables 1-3",
        _CITE["eogi"], _EOGI_LICENSE, "10d4QL4BRNvY-AyxMQhHsnoQ7vZz0Q_Zh"),
    _checkpoint(
        "eogi-deghosting", "deghosting.pt", "EOGI's artifact-suppression (deghosting) network, 128 -> 1024",
        "step 10 artifact suppression: EOGI and Diff-CAM++ columns, figures 2-4, tables 1-3",
        _CITE["eogi"], _EOGI_LICENSE, "1gfb1M8mFl4GlEiQsGDWjJRQ5zetrVbi0"),
    _eogi_direction("Beard", "5c799a9d385b96b5876482c3c76e27ae3ba7a92f29f718b4146f80c34c4fa3ce"),
    _eogi_direction("Bushy_Eyebrows", "b713db4c2d272ed89a7596aa4b615e4ea4d479810d4db562fd767674f8644bc6"),
    _eogi_direction("Eyeglasses", "240288ae390d9c1c4b38e029a140927662d3f463765587df2465c0416b03f000"),
    _eogi_direction("Mouth_Open", "ef863d820f09937fd570edd180e8317379d8015d55f4383b3ae8e16b1a0af93d"),
    _eogi_direction("Narrow_Eyes", "e3145f955381db3f945aab65d18679f60436b9b3ab29bb5e4152b122a3a739cd"),
    _eogi_direction("Old", "72095858d9f441494d46742639da43b17c282bbd48add6f5eca143073d725986"),
    _eogi_direction("Smiling", "c317b61eb1ca910c25626dcaa266446662e7ecb85eb9051767accea1086b92c2"),
    _interfacegan("age", "50074516b1629707d89b5e43d6b8abd1792212fa3b961a87a11323d6a5222ae0"),
    _interfacegan("smile", "817a7e732b59dee9eba862bec8bd7e8373568443bc9f9731a21cf9b0356f0653"),
    Asset(
        name="fid-inception", kind="metric", title="pytorch-fid's FID Inception-v3 weights (TF 2015-12-05 port)",
        used_by="table 3 (FID)", citation=_CITE["fid"], license="Apache-2.0 (mseitzer/pytorch-fid)",
        file="metrics/pt_inception-2015-12-05-6726825d.pth",
        urls=("https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth",),
        sha256_prefix="6726825d", torch_hub=True),
    Asset(
        name="lpips-alexnet", kind="metric",
        title="torchvision AlexNet ImageNet weights, the backbone of lpips.LPIPS(net='alex') (lpips ships its linear layers)",
        used_by="table 1 (LPIPS)", citation=_CITE["lpips"], license="BSD-3-Clause (torchvision); lpips BSD-2-Clause",
        file="metrics/alexnet-owt-7be5be79.pth",
        urls=("https://download.pytorch.org/models/alexnet-owt-7be5be79.pth",),
        sha256_prefix="7be5be79", torch_hub=True),
    Asset(
        name="celeba-hq", kind="dataset",
        title=f"CelebA-HQ 1024 x 1024 images, a folder you supply; the first {CELEBA_HQ_N} by index are used",
        used_by=f"evaluation inputs: tables 1-3 (first {CELEBA_HQ_N} images), figure 4 sources",
        citation=_CITE["celeba"], license="CelebA: non-commercial research purposes only",
        urls=("https://github.com/switchablenorms/CelebAMask-HQ",), env=CELEBA_ENV),
]

#: asset name -> Asset, in the order above.
ASSETS: dict[str, Asset] = {a.name: a for a in _ASSETS}


class AssetError(RuntimeError):
    """Base class of the errors of this module and :mod:`paperlib.infra.download`."""


class VerificationError(AssetError, ValueError):
    """A file is not the expected one (HTML page, wrong size, wrong hash, does not load)."""


class OfflineError(AssetError):
    """``PAPERLIB_OFFLINE=1`` forbids the network, and the file is not in the cache."""


# ----------------------------------------------------------------------------------- lookup
def get(name: str) -> Asset:
    """The registry entry ``name`` (ValueError listing the known names otherwise)."""
    if name not in ASSETS:
        raise ValueError(f"name: unknown asset {name!r}; expected one of {', '.join(ASSETS)}")
    return ASSETS[name]


def resolve(name: str) -> Asset:
    """The asset that holds ``name``'s file (follows ``alias_of``)."""
    asset = get(name)
    return get(asset.alias_of) if asset.alias_of else asset


def home() -> Path:
    """The cache folder: ``$PAPERLIB_HOME`` or ``~/.cache/paperlib``."""
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "paperlib"


def offline() -> bool:
    """True when ``PAPERLIB_OFFLINE`` is set to anything but ``""``, ``0``, ``false`` or ``no``."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def cache_path(name: str) -> Path:
    """Where ``name``'s verified file lives in the cache (whether or not it is there)."""
    asset = resolve(name)
    if asset.file is None:
        raise ValueError(f"name: {name!r} is a user-supplied folder, not a cached file; see celeba_hq_root()")
    return home() / asset.file


def download_command(name: str) -> str:
    return f"python -m paperlib download {name}"


def placement_hint(name: str) -> str:
    """'place the file from URL at PATH' for the offline case."""
    asset = resolve(name)
    return f"place {asset.filename} from {asset.home_url} at {cache_path(name)}"


# ---------------------------------------------------------------------------------- records
def _records_path() -> Path:
    return home() / RECORDS


def read_records() -> dict[str, dict]:
    """``hashes.json``: asset name -> {file, sha256, size, mtime_ns, verified, source, date}."""
    path = _records_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_record(name: str, record: dict | None) -> None:
    """Set (or with None, drop) ``name``'s entry of ``hashes.json``, atomically."""
    records = read_records()
    if record is None:
        records.pop(name, None)
    else:
        records[name] = record
    path = _records_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(records, path, sort_keys=True)


def make_record(asset: Asset, path: Path, sha256: str, verified: str, source: str) -> dict:
    st = path.stat()
    return {"file": asset.file, "sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "verified": verified, "source": source, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def record_matches(name: str) -> dict | None:
    """``name``'s record when the cached file is still the one that was verified, else None."""
    asset = resolve(name)
    path = home() / asset.file
    rec = read_records().get(asset.name)
    if rec is None or not path.is_file():
        return None
    st = path.stat()
    if rec.get("file") != asset.file or rec.get("size") != st.st_size or rec.get("mtime_ns") != st.st_mtime_ns:
        return None
    if asset.sha256 and rec.get("sha256") != asset.sha256:
        return None
    return rec


# --------------------------------------------------------------------------------- CelebA-HQ
_INDEX = re.compile(r"^0*(\d+)$")


def celeba_hq_root(root: str | Path | None = None) -> Path:
    """The CelebA-HQ folder: ``root``, else ``$PAPERLIB_CELEBA_HQ`` (FileNotFoundError if neither)."""
    value = root if root is not None else os.environ.get(CELEBA_ENV)
    if not value:
        raise FileNotFoundError(
            f"celeba-hq: set {CELEBA_ENV} to your CelebA-HQ image folder (0.jpg ... 29999.jpg, 1024x1024, "
            f"e.g. CelebAMask-HQ's CelebA-HQ-img) or pass --celeba-hq DIR")
    path = Path(value).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"celeba-hq: {path} is not a folder (from {'--celeba-hq' if root else CELEBA_ENV})")
    return path


def celeba_hq_images(n: int = CELEBA_HQ_N, root: str | Path | None = None) -> list[Path]:
    """The first ``n`` CelebA-HQ images by numeric index (``0.jpg``, ``00001.png``, ...).

    Raises FileNotFoundError when the folder holds fewer than ``n`` numbered images, or when
    the indices 0 .. n-1 are not all present (then it is not the start of CelebA-HQ).
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n: expected a positive number of images, got {n!r}")
    folder = celeba_hq_root(root)
    indexed = {}
    for p in folder.iterdir():
        m = _INDEX.match(p.stem)
        if m and p.suffix.lower() in IMAGE_SUFFIXES and p.is_file():
            indexed.setdefault(int(m.group(1)), p)
    first = sorted(indexed)[:n]
    if len(first) < n:
        raise FileNotFoundError(f"celeba-hq: {folder} has {len(first)} numbered images, expected at least {n}")
    if first[-1] != n - 1:
        missing = next(i for i in range(n) if i not in indexed)
        raise FileNotFoundError(f"celeba-hq: {folder} lacks image index {missing}; expected indices 0..{n - 1}")
    return [indexed[i] for i in first]
