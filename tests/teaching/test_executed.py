"""The committed executed notebooks (``figures/synthetic/notebooks/``, what ``make reproduce`` leaves for
reading and ``make book`` renders) read calmly: no stderr box, no local path, alt text on every figure."""

import json
import re

import nbformat
import pytest

from helpers import ROOT

EXECUTED = sorted((ROOT / "figures" / "synthetic" / "notebooks").glob("*.ipynb"))
LOCAL_PATH = re.compile(r"(/work/|/root/|/home/|/tmp/)")


@pytest.mark.parametrize("path", EXECUTED, ids=[p.stem for p in EXECUTED])
def test_no_stderr_box_no_local_path_and_alt_text(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            assert out.get("name") != "stderr", f"{path.name} cell {i}: stderr output {out.get('text', '')[:120]!r}"
            text = out.get("text", "") + json.dumps(out.get("data", {}).get("text/plain", ""))
            assert not LOCAL_PATH.search(text), f"{path.name} cell {i}: a local path in {text[:160]!r}"
            html = "".join(out.get("data", {}).get("text/html", ""))
            for img in re.findall(r"<img\b[^>]*>", html):
                assert re.search(r'\balt="[^"]+"', img), f"{path.name} cell {i}: an image without alt text"
