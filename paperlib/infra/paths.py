"""Where default outputs live: the project root, wherever a kernel or a command starts.

Every default path of paperlib (``runs/...``, ``figures/<profile>/``) is relative to
:func:`project_root`, not to the current folder: JupyterLab starts a notebook's kernel in
``notebooks/``, and a relative ``runs/diffnet-synthetic/diffnet.pt`` would not be found there (the
classifier would be retrained and ``notebooks/runs/`` written). Paths a user passes explicitly
(``--out``, ``--out-dir``, ``--images``, ``classifier_path``, ``out_dir``) keep meaning relative to
the current folder.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that sets the project root (outputs of tests, a second copy of the results).
ENV = "PAPERLIB_ROOT"

#: The folder above the package: a checkout when it holds ``pyproject.toml`` (editable install, PYTHONPATH).
_CHECKOUT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    """The folder every default path is relative to, in this order:

    1. ``$PAPERLIB_ROOT`` when set and not empty (resolved against the current folder once, here);
    2. the checkout holding this package: the folder above ``paperlib/`` when it holds
       ``pyproject.toml`` (an editable install, or ``PYTHONPATH`` pointing at a clone);
    3. the current folder, when paperlib is installed outside a checkout (site-packages).
    """
    env = os.environ.get(ENV, "")
    if env:
        root = Path(env).expanduser().resolve()
        if root.exists() and not root.is_dir():
            raise ValueError(f"{ENV}: {env} is not a folder; unset it or point it at the project's folder")
        return root
    if (_CHECKOUT / "pyproject.toml").is_file() and (_CHECKOUT / "paperlib").is_dir():
        return _CHECKOUT
    return Path.cwd()


def under_root(*parts: str | Path) -> Path:
    """``project_root() / parts``: a default path (``under_root("runs", "eval-synthetic")``)."""
    return project_root().joinpath(*parts)


def out_folder(path: str | Path | None, default: Path | None = None) -> Path:
    """A command's output folder, checked before any work: ``path`` (relative to the current folder)
    or ``default``; not a file, and its nearest existing parent writable (one-line ValueError)."""
    folder = Path(path) if path else default
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"out: {folder} exists and is not a folder")
    parent = next(p for p in (folder, *folder.parents) if p.exists())
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"out: cannot write into {parent} (permissions)")
    return folder


def root_relative(path: str | Path) -> str | None:
    """``path`` relative to the project root (``runs/eval-synthetic/tables.md``), None outside it."""
    try:
        return Path(path).resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return None


def shown_path(path: str | Path) -> str:
    """``path`` as a reader should see it in a notebook or a message: relative to the project root
    when it lies inside it, otherwise its name alone; never the machine's absolute path."""
    return root_relative(path) or Path(path).name


__all__ = ["ENV", "project_root", "under_root", "out_folder", "root_relative", "shown_path"]
