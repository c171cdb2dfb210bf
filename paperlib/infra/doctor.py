"""``python -m paperlib doctor``: versions, which assets are ready, whether the paper profile can run."""

from __future__ import annotations

import os
from pathlib import Path

from .assets import (ASSETS, CELEBA_HQ_N, HOME_ENV, MIRROR_ENV, OFFLINE_ENV, VerificationError, celeba_hq_images,
                     download_command, get, home, offline, placement_hint, record_matches, resolve)
from .download import verify_cached


def _versions() -> list[str]:
    import platform
    from importlib import metadata

    lines = [f"Python {platform.python_version()} ({platform.system()} {platform.machine()})"]
    try:
        import torch
        cuda = (f"CUDA {torch.version.cuda} available: {torch.cuda.get_device_name(0)}"
                if torch.cuda.is_available() else f"CUDA not available (torch built for CUDA {torch.version.cuda})")
        lines.append(f"torch {torch.__version__}; {cuda}")
    except Exception as err:  # a broken torch install is exactly what doctor should report
        lines.append(f"torch: cannot import ({type(err).__name__}: {err})")
    pkgs = []
    for pkg in ("torchvision", "lpips", "pytorch-fid", "gdown"):
        try:
            pkgs.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            pkgs.append(f"{pkg} MISSING")
    lines.append(", ".join(pkgs))
    return lines


def asset_state(name: str, verify: bool = False, celeba_root: str | Path | None = None) -> tuple[bool, str]:
    """(ready, one-line description) of asset ``name`` for ``doctor``.

    With ``verify`` a present file is verified again (reading it through; no network).
    """
    asset = get(name)
    if asset.kind == "dataset":
        try:
            images = celeba_hq_images(CELEBA_HQ_N, celeba_root)
        except FileNotFoundError as err:
            return False, str(err).removeprefix("celeba-hq: ")
        return True, f"{len(images)} images from {images[0].parent} (indices 0..{CELEBA_HQ_N - 1})"
    target = resolve(name)
    path = home() / target.file
    alias = f" (inside {target.name})" if asset.alias_of else ""
    if not path.is_file():
        return False, f"missing{alias}: get it with `{download_command(name)}` (offline: {placement_hint(name)})"
    if verify or record_matches(name) is None:
        if not verify:
            return False, (f"present but not verified{alias}: run `{download_command(name)}` "
                           "(verifies the cached file, no network)")
        try:
            verify_cached(target.name, force=True)
        except (VerificationError, OSError) as err:
            return False, f"REJECTED: {err}"
    rec = record_matches(name)
    how = rec.get("verified", "?") if rec else "?"
    return True, f"ok{alias}: {path} ({how}; sha256 {rec['sha256'][:16]}...)"


def doctor(verify: bool = False, celeba_root: str | Path | None = None) -> tuple[bool, list[str]]:
    """The ``doctor`` report: (can the ``paper`` profile run, lines to print)."""
    lines = _versions()
    lines.append(f"cache: {home()} (set {HOME_ENV} to move it); offline: {'yes' if offline() else 'no'} ({OFFLINE_ENV})")
    if os.environ.get(MIRROR_ENV):
        lines.append(f"mirror: {os.environ[MIRROR_ENV]} ({MIRROR_ENV})")
    lines.append("assets of the paper profile:")
    missing = []
    width = max(map(len, ASSETS))
    for name in ASSETS:
        ready, text = asset_state(name, verify=verify, celeba_root=celeba_root)
        if not ready:
            missing.append(name)
        lines.append(f"  [{'ok' if ready else '--'}] {name:<{width}}  {text}")
    if missing:
        lines.append(f"the paper profile can run: no ({len(missing)} of {len(ASSETS)} assets not ready: "
                     f"{', '.join(missing)}); get every download with `python -m paperlib download --all`")
    else:
        lines.append("the paper profile can run: yes")
    return not missing, lines


def doctor_command(verify: bool = False, celeba_root: str | Path | None = None, strict: bool = False) -> int:
    """The ``doctor`` command: the version and :func:`doctor`'s report; status 1 with ``strict`` when
    the paper profile cannot run."""
    from .. import __version__

    ready, lines = doctor(verify=verify, celeba_root=celeba_root)
    print(f"paperlib {__version__}")
    print("\n".join(lines))
    return 1 if (strict and not ready) else 0


__all__ = ["doctor", "asset_state", "doctor_command"]
