"""Verified downloads into the asset cache (``python -m paperlib download``).

The transfer is gdown's (Google Drive ids including the large-file confirm page, plain URLs,
a progress bar, HTTP Range resume of a ``.part`` file, retries). Around it:

1. the file is fetched into ``$PAPERLIB_HOME/.partial/`` (gdown writes ``<name>XXXXXXXX.part``
   there and renames it when the transfer is complete; an interrupted transfer leaves the
   ``.part`` file, which the next run resumes);
2. it is verified: not an HTML page (Google Drive's quota or permission page), the published
   size, the published sha256 (or the sha256 prefix of a torch-hub file name), and for a
   network checkpoint that it loads strictly through :func:`paperlib.models.load`;
3. only then is it renamed atomically into the cache and its sha256 recorded in
   ``hashes.json`` (printed when no hash was published). A rejected file is deleted.

``PAPERLIB_OFFLINE=1`` forbids the network; ``--from FILE`` (``from_file``) verifies and copies a
file obtained by other means. ``PAPERLIB_MIRROR=URL`` fetches ``URL/<file name>`` instead of the
official sources (a lab mirror; also how the tests serve files from 127.0.0.1).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from pathlib import Path

from ..checks import one_line as _one_line
from . import assets as _assets
from .assets import Asset, AssetError, OfflineError, VerificationError

CHUNK = 1 << 20
TIMEOUT_S = 60
HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<?xml")


class DownloadFailed(AssetError):
    """No source delivered the file (network error, refusal, interruption)."""


# ------------------------------------------------------------------------------ verification
def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _html_title(head: bytes) -> str:
    m = re.search(rb"<title[^>]*>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
    title = m.group(1).decode("utf-8", "replace").strip() if m else ""
    return " ".join(title.split())[:80]


def looks_like_html(head: bytes) -> bool:
    start = head.lstrip()[:64].lower()
    return start.startswith(HTML_MARKERS)


def _network_class(asset: Asset):
    from ..models import REGISTRY, _class
    if asset.network not in REGISTRY:
        raise AssetError(f"{asset.name}: network {asset.network!r} is not in paperlib.models.REGISTRY")
    try:
        return _class(asset.network)[0]
    except ImportError as err:
        raise AssetError(f"{asset.name}: cannot check the file, {err} (incomplete paperlib install?)") from err


def check_file(asset: Asset, path: Path) -> tuple[str, str]:
    """Verify ``path`` as ``asset``'s file: (sha256, how it was verified) or VerificationError."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(4096)
    advice = (f"download {asset.home_url} in a browser and run "
              f"`python -m paperlib download {asset.name} --from FILE`")
    if size == 0:
        raise VerificationError(f"{asset.name}: received an empty file instead of {asset.filename}")
    if looks_like_html(head):
        title = _html_title(head)
        raise VerificationError(
            f"{asset.name}: received an HTML page{f' ({title!r})' if title else ''} instead of {asset.filename} "
            f"(Google Drive's quota or permission page, or a wrong URL); try again later, or {advice}")
    if asset.size is not None and size != asset.size:
        raise VerificationError(
            f"{asset.name}: {asset.filename} has {size:,} bytes, expected {asset.size:,} (truncated or not the right file)")
    digest = sha256_of(path)
    hows = []
    if asset.sha256:
        if digest != asset.sha256:
            raise VerificationError(
                f"{asset.name}: sha256 {digest} of {asset.filename} does not match the pinned {asset.sha256}")
        hows.append("pinned sha256")
    elif asset.sha256_prefix:
        if not digest.startswith(asset.sha256_prefix):
            raise VerificationError(
                f"{asset.name}: sha256 {digest} of {asset.filename} does not start with {asset.sha256_prefix} "
                "(the prefix in the published file name)")
        hows.append(f"sha256 prefix {asset.sha256_prefix} of the file name")
    if asset.network:
        cls = _network_class(asset)
        from ..models import load
        try:
            load(asset.network, path)
        except Exception as err:  # CheckpointMismatch, unreadable pickle, ...
            raise VerificationError(
                f"{asset.name}: {asset.filename} does not load as {cls.__name__}: {err}") from err
        hows.append(f"loads strictly as {cls.__name__}")
    if asset.size is not None:
        hows.insert(0, "size")
    return digest, " + ".join(hows) or "not an HTML page"


# -------------------------------------------------------------------------------- the cache
def _staging(asset: Asset) -> Path:
    return _assets.home() / _assets.PARTIAL / asset.file


def _clear_staging(staging: Path) -> None:
    """Delete a staged file and gdown's ``<name>XXXXXXXX.part`` files beside it."""
    staging.unlink(missing_ok=True)
    if staging.parent.is_dir():
        for p in staging.parent.iterdir():
            if p.name.startswith(staging.name) and p.name.endswith(".part") \
                    and len(p.name) == len(staging.name) + 8 + len(".part"):
                p.unlink(missing_ok=True)


def partial_files(name: str) -> list[Path]:
    """The partial (resumable) files of asset ``name``."""
    staging = _staging(_assets.resolve(name))
    if not staging.parent.is_dir():
        return []
    return sorted(p for p in staging.parent.iterdir() if p.name.startswith(staging.name))


def _tidy_partials(asset: Asset, quiet: bool) -> None:
    """Keep one resumable ``.part`` file of ``asset``: the one with the most bytes.

    gdown resumes only when exactly one partial file exists (several at once, e.g. from runs
    killed at different times, stop it with an error). Whatever is resumed is verified before
    it enters the cache, so keeping the longest loses nothing."""
    parts = [p for p in partial_files(asset.name) if p.suffix == ".part"]
    if len(parts) < 2:
        return
    parts.sort(key=lambda p: (p.stat().st_size, p.stat().st_mtime), reverse=True)
    for p in parts[1:]:
        p.unlink(missing_ok=True)
    print(f"{asset.name}: {len(parts)} partial downloads found in {parts[0].parent}; resuming the largest "
          f"({parts[0].name}, {parts[0].stat().st_size:,} bytes) and removed the other {len(parts) - 1}",
          file=sys.stderr)


def hub_path(asset: Asset) -> Path:
    """Where torch.hub (hence lpips and pytorch-fid) looks for ``asset``'s file."""
    import torch
    return Path(torch.hub.get_dir()) / "checkpoints" / asset.filename


def _link_into_hub(asset: Asset, dest: Path) -> None:
    if not asset.torch_hub:
        return
    hub = hub_path(asset)
    if hub.exists() or hub.is_symlink():
        return
    hub.parent.mkdir(parents=True, exist_ok=True)
    try:
        hub.symlink_to(dest)
    except OSError:
        shutil.copy2(dest, hub)


def _install(asset: Asset, staged: Path, source: str) -> Path:
    """Verify ``staged``; on success rename it into the cache and record it, else delete it."""
    try:
        digest, how = check_file(asset, staged)
    except VerificationError:
        _clear_staging(staged)
        raise
    dest = _assets.home() / asset.file
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, dest)
    _assets.write_record(asset.name, _assets.make_record(asset, dest, digest, how, source))
    _link_into_hub(asset, dest)
    return dest


def verify_cached(name: str, force: bool = False) -> Path:
    """Verify the file already in the cache (placed by hand, or ``force``), without network.

    A file that fails is moved to ``$PAPERLIB_HOME/rejected/`` and VerificationError is raised.
    """
    asset = _assets.resolve(name)
    dest = _assets.home() / asset.file
    if not dest.is_file():
        raise FileNotFoundError(f"{name}: {dest} does not exist")
    if not force and _assets.record_matches(asset.name):
        return dest
    try:
        digest, how = check_file(asset, dest)
    except VerificationError as err:
        rejected = _assets.home() / _assets.REJECTED / asset.file
        rejected.parent.mkdir(parents=True, exist_ok=True)
        os.replace(dest, rejected)
        _assets.write_record(asset.name, None)
        raise VerificationError(f"{err} (moved to {rejected})") from err
    old = _assets.read_records().get(asset.name, {})
    source = old.get("source") if old.get("sha256") == digest else "placed in the cache by hand"
    _assets.write_record(asset.name, _assets.make_record(asset, dest, digest, how, source or "cache"))
    _link_into_hub(asset, dest)
    return dest


# -------------------------------------------------------------------------------- download
def sources(asset: Asset) -> list[tuple[str, dict]]:
    """(label, gdown keyword arguments) of each source of ``asset``, in the order tried."""
    mirror = os.environ.get(_assets.MIRROR_ENV)
    if mirror:  # exclusive: behind a firewall, and in tests, nothing else is contacted
        url = f"{mirror.rstrip('/')}/{asset.filename}"
        return [(url, {"url": url})]
    out = []
    if asset.drive_id:
        out.append((f"Google Drive id {asset.drive_id}", {"id": asset.drive_id}))
    out += [(u, {"url": u}) for u in asset.urls]
    return out


def _unresolvable(kwargs: dict) -> str | None:
    """Why a source cannot be reached at all: its host name does not resolve (and no proxy, which
    would resolve it, applies). A machine without network so fails at once, not after gdown's
    retries and their back-off."""
    import socket
    from urllib.parse import urlsplit

    from requests.utils import get_environ_proxies

    url = kwargs.get("url") or "https://drive.google.com/uc"  # gdown's Google Drive host
    parts = urlsplit(url)
    if not parts.hostname or get_environ_proxies(url):
        return None
    try:
        socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as err:
        return f"cannot resolve {parts.hostname} ({err.strerror}): no network?"
    return None


def _say(quiet: bool, msg: str) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _fetch(asset: Asset, quiet: bool, retries: int) -> Path:
    import gdown
    import requests
    from gdown.exceptions import DownloadError, FileURLRetrievalError

    staging = _staging(asset)
    staging.parent.mkdir(parents=True, exist_ok=True)
    _tidy_partials(asset, quiet)
    problems: list[str] = []
    rejected = 0
    for label, kwargs in sources(asset):
        unreachable = _unresolvable(kwargs)
        if unreachable:
            problems.append(f"{label}: {unreachable}")
            continue
        _say(quiet, f"{asset.name}: fetching {asset.filename} from {label}")
        try:
            gdown.download(output=str(staging), quiet=quiet, resume=True, use_cookies=False,
                           retries=retries, timeout=TIMEOUT_S, **kwargs)
        except FileURLRetrievalError as err:
            problems.append(f"{label}: Google Drive would not serve the file ({_one_line(err)}); if it is the "
                            f"quota, try later, or download {asset.home_url} in a browser and run "
                            f"`python -m paperlib download {asset.name} --from FILE`")
            continue
        except DownloadError as err:
            if "did not honor" in str(err):  # no Range support: the partial file is useless
                _clear_staging(staging)
            problems.append(f"{label}: {_one_line(err)}")
            continue
        except (requests.RequestException, OSError) as err:
            problems.append(f"{label}: {_one_line(err)}")
            continue
        try:
            return _install(asset, staging, label)
        except VerificationError as err:
            rejected += 1
            problems.append(str(err))
    kept = [p for p in partial_files(asset.name) if p.suffix == ".part"]
    if not kept:  # no empty folders left behind either
        for folder in (staging.parent, *staging.parent.parents):
            if folder == _assets.home():
                break
            try:
                folder.rmdir()
            except OSError:  # not empty: another download's files
                break
    resume = (f"; {kept[0].stat().st_size:,} bytes received are kept in {kept[0]}: run "
              f"`python -m paperlib download {asset.name}` again to resume") if kept else ""
    error = VerificationError if rejected == len(problems) and problems else DownloadFailed
    raise error(f"{asset.name}: not downloaded: {' | '.join(problems) or 'no source'}{resume}")


def download(name: str, *, quiet: bool = False, retries: int = 2, from_file: str | Path | None = None) -> Path:
    """Fetch, verify and cache asset ``name``; returns the cached file.

    A file already in the cache is only verified (no network). ``from_file`` copies a local
    file (e.g. one downloaded in a browser) through the same verification. torch-hub assets
    already in ``torch.hub.get_dir()/checkpoints`` are adopted from there. Raises
    :class:`VerificationError` when every source delivered a wrong file,
    :class:`DownloadFailed` on network trouble, :class:`OfflineError` under
    ``PAPERLIB_OFFLINE=1``.
    """
    requested = _assets.get(name)
    if requested.kind == "dataset":
        raise AssetError(f"{name}: not downloadable; {_assets.CELEBA_ENV} or --celeba-hq names your copy "
                         f"(obtain it under its license from {requested.home_url})")
    asset = _assets.resolve(name)
    if asset.network:
        _network_class(asset)  # fail before a long download if the file cannot be checked
    dest = _assets.home() / asset.file
    if dest.is_file() and from_file is None:
        try:
            return verify_cached(asset.name)
        except VerificationError as err:  # moved aside: fetch a good copy
            _say(quiet, str(err))
    staging = _staging(asset)  # its folder is made only when something is staged (not offline)
    if from_file is not None:
        src = Path(from_file).expanduser()
        if not src.is_file():
            raise FileNotFoundError(f"--from: {src} is not a file")
        staging.parent.mkdir(parents=True, exist_ok=True)
        _clear_staging(staging)
        shutil.copyfile(src, staging)
        return _install(asset, staging, f"copied from {src}")
    if asset.torch_hub:
        hub = hub_path(asset)
        if hub.is_file() and not (hub.is_symlink() and hub.resolve() == dest.resolve()):
            staging.parent.mkdir(parents=True, exist_ok=True)
            _clear_staging(staging)
            shutil.copyfile(hub, staging)
            try:
                return _install(asset, staging, f"adopted from {hub}")
            except VerificationError as err:
                _say(quiet, f"{asset.name}: ignoring {hub}: {err}")
    if _assets.offline():
        raise OfflineError(f"{name}: {_assets.OFFLINE_ENV}=1 forbids the network; {_assets.placement_hint(name)}, "
                           f"then run `python -m paperlib download {name}` to verify it")
    return _fetch(asset, quiet, retries)


# ------------------------------------------------------------------------- the verified cache
def asset_path(name: str) -> Path:
    """The verified cached file of asset ``name`` (what :func:`load_network` loads).

    A file present but not yet verified (placed by hand, or changed since) is verified now,
    without network; one that fails is moved to ``$PAPERLIB_HOME/rejected/`` and
    :class:`VerificationError` is raised. A missing file raises a one-line FileNotFoundError
    with the ``python -m paperlib download NAME`` command and the offline placement path.
    For ``celeba-hq`` this is :func:`celeba_hq_root`.
    """
    asset = _assets.get(name)
    if asset.kind == "dataset":
        return _assets.celeba_hq_root()
    path = _assets.cache_path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"{name}: {_assets.resolve(name).filename} is not in the paperlib cache; run "
            f"`{_assets.download_command(name)}` (offline: {_assets.placement_hint(name)})")
    if _assets.record_matches(name) is None:
        verify_cached(_assets.resolve(name).name)
    return path


def load_network(name: str):
    """Network ``name`` (:data:`paperlib.models.REGISTRY`) with its official weights from the
    verified cache (:func:`asset_path`); a missing file raises with the download command."""
    from ..models import load

    return load(name, asset_path(name))


def torch_hub_file(name: str) -> Path:
    """Make sure torch.hub finds asset ``name`` (``fid-inception``, ``lpips-alexnet``) offline.

    Call before building ``lpips.LPIPS(net="alex")`` or pytorch-fid's ``InceptionV3``: they load
    these weights through ``torch.hub.load_state_dict_from_url``, which uses the file in
    ``torch.hub.get_dir()/checkpoints`` when present. Returns that path; raises like
    :func:`asset_path` when the asset is not cached.
    """
    asset = _assets.resolve(name)
    if not asset.torch_hub:
        raise ValueError(f"name: {name!r} is not loaded through torch.hub")
    dest = asset_path(name)
    _link_into_hub(asset, dest)
    return hub_path(asset)


def downloadable() -> list[str]:
    """Names ``--all`` downloads: every asset with a file of its own."""
    return [a.name for a in _assets.ASSETS.values() if a.downloadable]


def download_assets_command(names: list[str], *, all_assets: bool = False, from_file: str | None = None, retries: int = 2,
                     quiet: bool = False) -> int:
    """The ``download`` command on checked asset ``names``: each fetched (or copied ``from_file``) and
    verified, one line per asset; status 1 when one failed. ``all_assets``: the names are every
    downloadable asset (:func:`downloadable`), and the line about CelebA-HQ follows."""
    failed = 0
    for name in names:
        try:
            path = download(name, quiet=quiet, retries=retries, from_file=from_file)
        except (AssetError, FileNotFoundError) as err:
            failed += 1
            print(f"{name}: FAILED: {err}", file=sys.stderr)
            continue
        rec = _assets.read_records().get(_assets.resolve(name).name, {})
        sha = rec.get("sha256", "?")
        inside = f" (the generator is read from {path.name})" if _assets.get(name).alias_of else ""
        print(f"{name}: ok {path}{inside}; verified: {rec.get('verified', '?')}; sha256 {sha}")
        if not (_assets.resolve(name).sha256):
            print(f"{name}: no full sha256 is published; recorded {sha} in {_assets.home() / _assets.RECORDS}")
    if all_assets:
        print(f"celeba-hq is not downloaded: set {_assets.CELEBA_ENV} to your CelebA-HQ folder "
              "(check with `python -m paperlib doctor`)")
    return 1 if failed else 0
