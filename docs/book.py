"""``make book``: the README, ``docs/`` and the executed notebooks as one static HTML site.

    python docs/book.py [--out build/book] [--notebooks figures/synthetic/notebooks]

The pages link to each other and to the figures the way they do on GitHub (``docs/results.md``,
``../figures/synthetic/figure2.png``), so the site is built from a staged copy of the checkout's
layout: ``README.md`` (the home page), ``docs/*.md``, the PNGs under ``figures/`` and the executed
notebooks (``make reproduce`` leaves them in ``figures/synthetic/notebooks/``), then MkDocs
(Material theme, mkdocs-jupyter for the notebooks; configuration in ``mkdocs.yml``) in strict mode:
a broken link or anchor fails the build. Before that, every module path and dotted name the pages
mention (```paperlib/method/cam.py```, ```paperlib.method.cam.cam_map```, ```tests/models/test_golden.py```)
must exist, so moved code cannot leave the pages behind.
"""

from __future__ import annotations

import argparse
import logging
import importlib
import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ("00_walkthrough", "01_train_diffcam", "02_figure2", "03_figure3", "04_figure4", "05_tables",
             "06_sweep")
#: Where ``make reproduce`` leaves the executed notebooks, relative to the checkout.
EXECUTED = Path("figures/synthetic/notebooks")
#: A path in backquotes that must exist in the checkout.
PATH = re.compile(r"`((?:paperlib|tests|benchmarks|notebooks)/[\w/.-]*)`")
#: A dotted name in backquotes that must import (a module, then attributes).
DOTTED = re.compile(r"`(paperlib(?:\.[A-Za-z_]\w*)+)")


def pages() -> list[Path]:
    """The Markdown the book is made of: the README and every page of docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def stale_references() -> list[str]:
    """``page: reference`` for every module path or dotted name a page mentions that does not exist."""
    sys.path.insert(0, str(ROOT))
    try:
        stale = []
        for page in pages():
            text = page.read_text()
            for ref in sorted(set(PATH.findall(text))):
                if not (ROOT / ref).exists():
                    stale.append(f"{page.relative_to(ROOT)}: {ref} does not exist")
            for ref in sorted(set(DOTTED.findall(text))):
                if not _resolves(ref):
                    stale.append(f"{page.relative_to(ROOT)}: {ref} does not import")
        return stale
    finally:
        sys.path.remove(str(ROOT))


def stage(folder: Path, notebooks: Path) -> None:
    """The checkout's layout, reduced to what the book shows, under ``folder``."""
    shutil.copyfile(ROOT / "README.md", folder / "README.md")  # MkDocs makes README.md the home page
    (folder / "docs").mkdir()
    for page in pages()[1:]:
        shutil.copyfile(page, folder / "docs" / page.name)
    for png in (ROOT / "figures").rglob("*.png"):
        target = folder / png.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, target)
    (folder / EXECUTED).mkdir(parents=True, exist_ok=True)
    for name in NOTEBOOKS:
        shutil.copyfile(notebooks / f"{name}.ipynb", folder / EXECUTED / f"{name}.ipynb")


def build(out: Path, notebooks: Path) -> Path:
    """Check the pages' references, stage, build with MkDocs into ``out``; returns ``out``."""
    from mkdocs.commands.build import build as mkdocs_build
    from mkdocs.config import load_config

    stale = stale_references()
    if stale:
        raise SystemExit("error: the pages mention what does not exist; update them:\n  " + "\n  ".join(stale))
    with tempfile.TemporaryDirectory(prefix="paperlib-book-") as tmp:
        stage(Path(tmp), notebooks)
        config = load_config(str(ROOT / "mkdocs.yml"), docs_dir=tmp, site_dir=str(out.resolve()))
        mkdocs_build(config)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="docs/book.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "book"), help="the site's folder (default build/book)")
    parser.add_argument("--notebooks", default=str(ROOT / EXECUTED),
                        help=f"the executed notebooks (default {EXECUTED}, filled by make reproduce)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="book: %(message)s")  # MkDocs' warnings (strict: fatal)
    notebooks, out = Path(args.notebooks), Path(args.out)
    missing = [f"{n}.ipynb" for n in NOTEBOOKS if not (notebooks / f"{n}.ipynb").is_file()]
    if missing:
        parser.exit(2, f"error: --notebooks: {notebooks} lacks {', '.join(missing)}; run `make reproduce` first "
                       "(it leaves the executed notebooks there) or pass --notebooks DIR\n")
    if out.exists() and not out.is_dir():
        parser.exit(2, f"error: --out: {out} is a file; give a folder for the site\n")
    build(out, notebooks)
    print(f"book: {out}/index.html ({len(pages())} pages and {len(NOTEBOOKS)} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
