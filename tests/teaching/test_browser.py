"""The explorer in a real browser: JupyterLab and headless Chromium (Selenium) open the
walkthrough the normal way (its kernel starts in the notebook's folder), run all cells at smoke
sizes, change every control of the explorer, and see its picture change each time, with no
error anywhere in the notebook. And the book (``make book``): every page loads, every image
renders, no internal link is broken.

Needs Debian's ``chromium`` and ``chromium-driver`` and ``selenium`` (the ``dev`` extra); skipped
without them outside CI, where ``.ci/run`` installs them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from helpers import ROOT, ROOT_ENV
from paperlib.teaching.reproduce import NOTEBOOKS, SMOKE

NOTEBOOK = "00_walkthrough"
#: The controls' leaf widgets: not a container, not the Output widget that holds the picture.
CONTROLS_JS = """
const cell = arguments[0];
const leaves = [...cell.querySelectorAll('.jupyter-widgets:not(.widget-box):not(.widget-output)')]
  .filter(w => !w.closest('.widget-output'))
  .filter(w => w.querySelector('select, input, button, textarea, .noUi-handle'));
return leaves.filter(w => !leaves.some(o => o !== w && w.contains(o)));
"""
#: The explorer's current picture: the last image in its Output widget.
PICTURE_JS = """
const imgs = arguments[0].querySelectorAll('.widget-output img');
return imgs.length ? imgs[imgs.length - 1].src : null;
"""
#: Text of every stderr/error output in the notebook (an error renders as application/vnd.jupyter.stderr).
ERRORS_JS = """
return [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')]
  .filter(o => /vnd\\.jupyter\\.(stderr|error)/.test(o.getAttribute('data-mime-type') || '')
               || o.querySelector('[data-mime-type*="vnd.jupyter.error"], [data-mime-type*="vnd.jupyter.stderr"]'))
  .map(o => o.textContent);
"""
#: Output images without alternative text (their panel titles, or their first 60 characters of source).
NO_ALT_JS = """
return [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')]
  .filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src.slice(0, 60));
"""
#: Seconds to wait for the walkthrough's cells: generous, a loaded machine runs them many times slower.
RUN_TIMEOUT = 600
ERROR = re.compile(r"Traceback|^\s*\w*(Error|Exception)\b", re.MULTILINE)


def _tools() -> tuple[str, str]:
    """Chromium and chromedriver; a skip with the reason outside CI when one is missing, a failure in CI."""
    binary = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
    driver = shutil.which("chromedriver")
    try:
        import selenium  # noqa: F401
        has_selenium = True
    except ImportError:
        has_selenium = False
    missing = [name for name, ok in (("chromium", binary), ("chromium-driver", driver), ("selenium", has_selenium))
               if not ok]
    if missing:
        message = (f"browser test needs {', '.join(missing)}: apt-get install chromium chromium-driver; "
                   "pip install -e '.[dev]'")
        if os.environ.get("CI"):
            pytest.fail(f"{message} (.ci/run installs them in CI)")
        pytest.skip(message)
    return binary, driver


def _beside(folder: Path) -> list[str]:
    """The files in the kernel's folder, but JupyterLab's own ``.ipynb_checkpoints``."""
    return sorted(p.name for p in folder.iterdir() if p.name != ".ipynb_checkpoints")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab on a free port, serving a folder with the walkthrough parameterised at smoke sizes;
    default outputs go to ``tmp_path/root`` ($PAPERLIB_ROOT). Yields (url, token, folder, root)."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    folder, root = tmp_path / "lab", tmp_path / "root"
    (folder / "notebooks").mkdir(parents=True)
    nb = parameterize_notebook(load_notebook_node(str(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb")),
                               {"smoke": True, **SMOKE[NOTEBOOK]})
    nbformat.write(nb, folder / "notebooks" / f"{NOTEBOOK}.ipynb")
    settings = tmp_path / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)  # every cell in the DOM (no windowing), so the prompts and outputs can be read
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    labconfig = tmp_path / "jupyter-config" / "labconfig"
    labconfig.mkdir(parents=True)  # no "build needed?" check of the page (node subprocesses; nothing is built here)
    (labconfig / "page_config.json").write_text(json.dumps({"buildCheck": False, "buildAvailable": False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, ROOT_ENV: str(root), "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT),
           os.environ.get("PYTHONPATH")))), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"), "IPYTHONDIR": str(tmp_path / "ipython")}
    env.pop("PAPERLIB_HEADLESS", None)  # a front end renders the widgets here
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
           "--LabApp.extension_manager=readonly",
           f"--LabApp.user_settings_dir={tmp_path / 'settings'}", f"--LabApp.workspaces_dir={tmp_path / 'ws'}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
           "--LanguageServerManager.autodetect=False"]  # no search for language servers (npm) at start
    log_path = tmp_path / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            assert proc.poll() is None, f"JupyterLab exited: {log_path.read_text()[-3000:]}"
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=5)
                break
            except OSError:
                assert time.monotonic() - t0 < 90, f"JupyterLab did not answer: {log_path.read_text()[-3000:]}"
                time.sleep(0.1)
        yield url, token, folder, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module's tests (each leaves it on about:blank)."""
    from selenium import webdriver

    binary, driver_path = _tools()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1600,1200"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def lab_page(lab, browser):
    """The module's Chromium for a JupyterLab page; afterwards back on about:blank before JupyterLab
    stops, without the "leave the page?" prompt of the unsaved notebook, so the next test finds a
    quiet browser."""
    yield browser
    from selenium.common.exceptions import UnexpectedAlertPresentException

    try:
        browser.execute_script("window.addEventListener('beforeunload', e => e.stopImmediatePropagation(), true)")
        browser.get("about:blank")
    except UnexpectedAlertPresentException:
        browser.switch_to.alert.accept()
        browser.get("about:blank")


def _wait(what: str, condition, timeout: float, every: float = 0.2):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what`` after ``timeout`` s."""
    t0 = time.monotonic()
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() - t0 < timeout, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


def _errors(driver) -> list[str]:
    return [t for t in driver.execute_script(ERRORS_JS) if ERROR.search(t)]


def _run_all(driver) -> None:
    from selenium.webdriver.common.by import By

    menu = [m for m in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-itemLabel") if m.text == "Run"]
    assert menu, "no Run menu in JupyterLab's menu bar"
    menu[0].click()
    _wait("the Run All Cells menu item", lambda: [i for i in driver.find_elements(By.CSS_SELECTOR, ".lm-Menu-item")
                                                  if i.text.strip() == "Run All Cells"], 10)[0].click()


def _prompts(driver) -> list[str]:
    """The code cells' input prompts: ``[ ]:`` not run, ``[*]:`` running or queued, ``[3]:`` done."""
    return driver.execute_script("return [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
                                 ".map(p => p.textContent.trim())")


def _finished(driver) -> bool:
    prompts = _prompts(driver)
    return bool(prompts) and all(re.fullmatch(r"\[\d+\]:", p) for p in prompts)


def _change(driver, control) -> str:
    """Change one control the way a user would; returns what was done (for the failure message)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    find = lambda css: control.find_elements(By.CSS_SELECTOR, css)  # noqa: E731
    if find("select"):
        select = Select(find("select")[0])
        options = [o.get_attribute("value") for o in select.options]
        current = select.first_selected_option.get_attribute("value")
        select.select_by_value(options[(options.index(current) + 1) % len(options)])
        return f"dropdown {current} -> {select.first_selected_option.get_attribute('value')}"
    if find(".noUi-handle"):
        handle = find(".noUi-handle")[0]
        now, top = float(handle.get_attribute("aria-valuenow")), float(handle.get_attribute("aria-valuemax"))
        handle.send_keys(Keys.ARROW_LEFT if now >= top else Keys.ARROW_RIGHT)
        _wait("the slider to move", lambda: float(handle.get_attribute("aria-valuenow")) != now, 5)
        return f"slider {now:g} -> {float(handle.get_attribute('aria-valuenow')):g}"
    if find("input[type=checkbox]"):
        box = find("input[type=checkbox]")[0]
        was = box.is_selected()
        box.click()
        return f"checkbox {was} -> {box.is_selected()}"
    if find("input[type=radio]"):
        radio = next(r for r in find("input[type=radio]") if not r.is_selected())
        radio.click()
        return f"radio -> {radio.get_attribute('value')}"
    if find("button"):
        button = next((b for b in find("button") if "mod-active" not in (b.get_attribute("class") or "")),
                      find("button")[0])
        button.click()
        return f"button {button.text!r}"
    raise AssertionError(f"a control of an unknown kind: {control.get_attribute('outerHTML')[:300]}")


def test_explorer_in_jupyterlab(lab, lab_page):
    """Run all cells in JupyterLab; every explorer control changes the picture; no cell shows an
    error; nothing is written beside the notebook, the outputs land under the project root."""
    from selenium.webdriver.common.by import By

    url, token, folder, root = lab
    browser = lab_page
    before = _beside(folder / "notebooks")
    t0 = time.monotonic()
    browser.get(f"{url}/lab/tree/notebooks/{NOTEBOOK}.ipynb?token={token}")
    _wait("the notebook's cells", lambda: browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-CodeCell"), 60)
    _wait("the kernel", lambda: any(s["kernel"]["execution_state"] == "idle" for s in json.load(
        urllib.request.urlopen(f"{url}/api/sessions?token={token}", timeout=5))), 60)
    _run_all(browser)
    try:
        _wait("every cell to run", lambda: _finished(browser) or _errors(browser), RUN_TIMEOUT)
    finally:
        browser.save_screenshot(str(folder.parent / "after-run-all.png"))
    assert _finished(browser), _prompts(browser)
    assert _errors(browser) == []
    ran = time.monotonic() - t0
    # a textbook: rendered equations, alternative text on every displayed image
    assert browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook mjx-container, .jp-Notebook .MathJax, "
                                                  ".jp-Notebook .katex"), "no rendered equation in the walkthrough"
    assert browser.execute_script(NO_ALT_JS) == [], "displayed images without alternative text"
    shown = browser.find_element(By.CSS_SELECTOR, ".jp-Notebook").text  # calm output: no machine path printed
    assert str(root) not in shown and str(folder) not in shown, "the notebook prints a local path"

    cells = [c for c in browser.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell")
             if c.find_elements(By.CSS_SELECTOR, ".widget-output")]
    assert len(cells) == 1, f"expected one cell with the explorer, found {len(cells)}"
    cell = cells[0]
    picture = _wait("the explorer's picture", lambda: browser.execute_script(PICTURE_JS, cell), 60)
    controls = browser.execute_script(CONTROLS_JS, cell)
    kinds = {k for c in controls for k in ("select", "input[type=checkbox]", ".noUi-handle")
             if c.find_elements(By.CSS_SELECTOR, k)}
    assert len(controls) >= 5 and {"input[type=checkbox]", ".noUi-handle"} <= kinds, \
        f"found {len(controls)} controls of kinds {sorted(kinds)}"
    latencies = []
    for control in controls:
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", control)
        done = _change(browser, control)
        t1 = time.monotonic()
        new = _wait(f"the picture to change after {done}",
                    lambda: (p := browser.execute_script(PICTURE_JS, cell)) not in (None, picture) and p, 60)
        latencies.append(time.monotonic() - t1)
        assert _errors(browser) == [], done
        picture = new
    print(f"browser test: notebook ran in {ran:.1f} s; {len(controls)} controls, picture updates "
          f"{min(latencies):.2f}-{max(latencies):.2f} s")

    assert _beside(folder / "notebooks") == before  # nothing written where the kernel starts
    assert (root / "runs" / "smoke" / "figures" / "synthetic" / f"{NOTEBOOK}.json").is_file()


def _stand_in_notebooks(folder: Path) -> Path:
    """Executed notebooks for the book when ``make reproduce`` has not left real ones in
    ``figures/synthetic/notebooks/``: the stored notebooks, each with a small picture and a line of
    text as the outputs of its last code cell (the book's machinery is under test, not the numbers)."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1.5), dpi=50)
    ax.plot([0, 1, 2], [0, 1, 0])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    png = base64.b64encode(buffer.getvalue()).decode()
    folder.mkdir(parents=True)
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        last = [c for c in nb.cells if c.cell_type == "code"][-1]
        last.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"{name}: a stand-in output\n"),
                        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """The book built by ``docs/book.py`` into a temporary folder and served over HTTP on a free
    port; yields (url, site folder)."""
    import functools
    import http.server
    import threading

    pytest.importorskip("mkdocs", reason="the book needs the docs extra: pip install -e '.[docs]'")
    pytest.importorskip("mkdocs_jupyter", reason="the book needs the docs extra: pip install -e '.[docs]'")
    tmp = tmp_path_factory.mktemp("book")
    executed = ROOT / "figures" / "synthetic" / "notebooks"
    if not all((executed / f"{n}.ipynb").is_file() for n in NOTEBOOKS):
        executed = _stand_in_notebooks(tmp / "executed")
    site = tmp / "site"
    run = subprocess.run([sys.executable, str(ROOT / "docs" / "book.py"), "--out", str(site), "--notebooks",
                          str(executed)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # no line per request in the test's output
            pass

    handler = functools.partial(Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", site
    finally:
        server.shutdown()
        server.server_close()


#: Every <img> of the page: its source and whether it has loaded with a width (a broken one has 0).
IMAGES_JS = "return [...document.images].map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]);"
#: Every link's resolved address.
LINKS_JS = "return [...document.querySelectorAll('a[href]')].map(a => a.href);"


def test_book_pages_images_and_links(book, browser):
    """Every page of the book loads in Chromium, every image on it renders (naturalWidth > 0) and
    every internal link leads to a page of the book (and to an anchor on it, when it names one)."""
    from urllib.parse import urldefrag, urlparse

    url, site = book
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    expected = {"index.html", "docs/results.html", "docs/architecture.html",
                *(f"figures/synthetic/notebooks/{n}.html" for n in NOTEBOOKS)}
    assert expected <= set(pages), sorted(expected - set(pages))
    broken, anchors = [], set()
    for page in pages:
        browser.get(f"{url}/{page}")
        _wait(f"{page} to load", lambda: browser.execute_script("return document.readyState") == "complete", 30)
        assert browser.title, f"{page}: no title"
        images = _wait(f"the images of {page}", lambda: (imgs := browser.execute_script(IMAGES_JS)) is not None
                       and all(done for _, done, _ in imgs) and [imgs], 30)[0]
        broken += [f"{page}: image {src[:120]} does not render" for src, _, width in images if width == 0]
        for link in browser.execute_script(LINKS_JS):
            target, fragment = urldefrag(link)
            parsed = urlparse(target)
            if f"{parsed.scheme}://{parsed.netloc}" != url:
                continue  # external: not followed (no network while testing)
            path = parsed.path.lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if not (site / path).is_file():
                broken.append(f"{page}: link to {path} leads nowhere")
            elif fragment and path.endswith(".html"):
                anchors.add((page, path, fragment))
    for page, path, fragment in sorted(anchors):
        if f'id="{fragment}"' not in (site / path).read_text():
            broken.append(f"{page}: link to {path}#{fragment}: no such anchor")
    assert broken == [], "\n".join(broken)
    print(f"book: {len(pages)} pages loaded in Chromium, their images and internal links checked")
