"""JupyterLab 4 and Notebook 7 in a real browser (Debian's chromium, driven by Playwright
from PyPI; no browser is downloaded), on the ferrolab kernel.

What a learner sees, checked in the page: a Rust cell's value; the live progress bar moving
during `fit` and the training curves image after it; Tab completion offering a library
name; the toolbar's interrupt button stopping a long `fit`, with the model usable in the next
cell; a compile error with rustc's message. Then the same notebook opens and runs in
Notebook 7. Screenshots go to the directory in argv[1].

Prints one JSON line of what it saw; kernel/tests/browser.rs asserts on it.
"""

import json
import os
import socket
import subprocess
import sys
import time
import uuid

from playwright.sync_api import sync_playwright

SHOTS = sys.argv[1]
CHROMIUM = os.environ.get("FERROLAB_CHROMIUM", "/usr/bin/chromium")
LONG = 240_000  # ms: the first cell may wait for the library build
CELL = 180_000

CELLS = [
    # 0: a value (also loads the library and the data)
    "let dev = Cpu::seed_from_u64(0);\nlet data = ferrolab::data::digits();\n"
    "let mut mlp = Mlp::<f32, Cpu>::new(&dev, 64, 32, 10);\n6 * 7",
    # 1: fit with its progress bar, then the curves as the cell's value
    "let history = mlp.fit(&data, &FitConfig::default().epochs(6)).unwrap();\nhistory",
    # 2: typed in by the test for completion
    "",
    # 3: a long fit, stopped from the toolbar
    "let long = mlp.fit(&data, &FitConfig::default().epochs(100000)).unwrap();\nlong.epochs()",
    # 4: the model is still usable
    "mlp.evaluate(&data, 256).unwrap().accuracy > 0.5",
    # 5: a compile error
    'let bad: i32 = "text";',
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path):
    nb = {
        "nbformat": 4, "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "ferrolab-test", "display_name": "ferrolab (test)", "language": "rust"},
                     "language_info": {"name": "rust"}},
        "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src,
                   "outputs": [], "execution_count": None} for i, src in enumerate(CELLS)],
    }
    with open(path, "w") as f:
        json.dump(nb, f)


def cell(page, i):
    return page.locator(".jp-Notebook .jp-Cell").nth(i)


def run_cell(page, i):
    """Selects cell i and runs it with Shift+Enter (the notebook keeps focus in the cell)."""
    cell(page, i).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def output_text(page, i):
    return cell(page, i).locator(".jp-OutputArea").inner_text()


def wait_output(page, i, text, timeout=CELL):
    cell(page, i).locator(".jp-OutputArea", has_text=text).wait_for(timeout=timeout)


def shot(page, name):
    page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def lab(page, base, token, seen):
    page.goto(f"{base}/lab/tree/learner.ipynb?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    # Keys typed before the kernel is connected can be lost: wait for the status bar's Idle.
    page.locator(".jp-StatusBar-Widget", has_text="Idle").first.wait_for(timeout=120_000)
    # A value.
    run_cell(page, 0)
    wait_output(page, 0, "42", timeout=LONG)
    seen["value"] = output_text(page, 0).strip()
    shot(page, "lab-1-value")

    # fit: its progress bar, then the training curves as the cell's value.
    run_cell(page, 1)
    cell(page, 1).locator(".jp-OutputArea progress").first.wait_for(timeout=CELL)
    cell(page, 1).locator(".jp-OutputArea img, .jp-OutputArea svg").first.wait_for(timeout=CELL)
    seen["curves_image"] = True
    shot(page, "lab-2-curves")

    # Tab completion offers a library name.
    cell(page, 2).locator(".jp-InputArea-editor").click()
    page.keyboard.type("let m = Cn")
    page.keyboard.press("Tab")
    completer = page.locator(".jp-Completer")
    completer.wait_for(timeout=60_000)
    seen["completions"] = completer.inner_text()[:500]
    shot(page, "lab-4-completion")
    page.keyboard.press("Escape")

    # The toolbar's interrupt button stops a long fit; the model is still there.
    # The bar is updated in place as batches pass: read it for two seconds.
    run_cell(page, 3)
    bar = cell(page, 3).locator(".jp-OutputArea progress").first
    bar.wait_for(timeout=CELL)
    states = set()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        states.add((bar.get_attribute("value"), cell(page, 3).locator(".jp-OutputArea").inner_text()[:80]))
        time.sleep(0.1)
    seen["progress_states"] = len(states)
    shot(page, "lab-3-progress")
    page.locator('[data-command="notebook:interrupt-kernel"]').first.click()
    wait_output(page, 3, "interrupted in epoch")
    seen["interrupted"] = output_text(page, 3)[-300:]
    shot(page, "lab-5-interrupted")
    run_cell(page, 4)
    wait_output(page, 4, "true")
    seen["model_after_interrupt"] = output_text(page, 4).strip()

    # A compile error, with rustc's message.
    run_cell(page, 5)
    wait_output(page, 5, "mismatched types")
    seen["compile_error"] = output_text(page, 5)[:300]
    shot(page, "lab-6-compile-error")
    page.keyboard.press("Control+s")
    time.sleep(1)


def notebook7(page, base, token, seen):
    page.goto(f"{base}/notebooks/learner.ipynb?token={token}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    seen["nb7_title"] = page.title()
    run_cell(page, 0)
    wait_output(page, 0, "42", timeout=LONG)
    seen["nb7_value"] = output_text(page, 0).strip()
    run_cell(page, 5)
    wait_output(page, 5, "mismatched types")
    seen["nb7_compile_error"] = True
    shot(page, "nb7-1-ran")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    root = os.path.join(SHOTS, "root")
    os.makedirs(root, exist_ok=True)
    write_notebook(os.path.join(root, "learner.ipynb"))
    port, token = free_port(), uuid.uuid4().hex
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--ServerApp.open_browser=False", "--allow-root"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(SHOTS, "server.log"), "w"),
    )
    seen = {}
    try:
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for _ in range(600):
                try:
                    page.goto(f"{base}/api?token={token}")
                    break
                except Exception:
                    time.sleep(0.1)
            try:
                lab(page, base, token, seen)
                notebook7(page, base, token, seen)
            except Exception as e:
                seen["error"] = f"{type(e).__name__}: {e}"[:2000]
                shot(page, "failure")
            browser.close()
    finally:
        server.terminate()
        server.wait(60)
    print(json.dumps(seen))


main()
