"""Executes the chapters' notebooks through a real Jupyter kernel with nbclient.

Usage: run_notebooks.py KERNEL_NAME OUT_DIR NOTEBOOK...

For every notebook: after each exercise's check cell (metadata.ferrolab.check), the
exercise's mistake, the check, its solution and the check again are run, so each check is
seen on the untouched placeholder, a wrong answer and the right one. It fails on any error
output, on a check whose verdict is not Not attempted / Incorrect / Correct in that order,
and on a cell tagged `plot` that showed no image. Executed notebooks are written to OUT_DIR
as artifacts; seconds per notebook are printed as a table.
"""

import copy
import json
import pathlib
import sys
import time

import nbclient
import nbformat

CHECK_MIME = "application/vnd.ferrolab.check+json"
IMAGE_MIMES = ("image/png", "image/svg+xml")


def with_answers(nb):
    """A copy of `nb` whose check cells are followed by mistake/check/solution/check cells."""
    answers = {e["id"]: e for e in nb.metadata["ferrolab"]["exercises"]}
    out = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        cells.append(cell)
        exercise = cell.get("metadata", {}).get("ferrolab", {}).get("check")
        if cell.cell_type != "code" or not exercise:
            continue
        cell.metadata["expect"] = "not_attempted"
        for answer, verdict in (("mistake", "incorrect"), ("solution", "correct")):
            code = nbformat.v4.new_code_cell(answers[exercise][answer])
            code.metadata["answer"] = f"{exercise}:{answer}"
            check = nbformat.v4.new_code_cell(cell.source)
            check.metadata["expect"] = verdict
            check.metadata["ferrolab"] = {"check": exercise}
            cells += [code, check]
    out.cells = cells
    return out


def verdict(cell):
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if CHECK_MIME in data:
            value = data[CHECK_MIME]
            return (json.loads(value) if isinstance(value, str) else value)["verdict"]
    return None


def problems(nb, name):
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        where = f"{name} cell {index} ({cell.get('id', '?')})"
        for output in cell.outputs:
            if output.output_type == "error":
                found.append(f"{where}: {output.ename}: {output.evalue}")
        expect = cell.metadata.get("expect")
        if expect and verdict(cell) != expect:
            exercise = cell.metadata["ferrolab"]["check"]
            found.append(f"{where}: check {exercise} said {verdict(cell)}, expected {expect}")
        if "plot" in cell.metadata.get("tags", []):
            shown = any(
                any(m in output.get("data", {}) for m in IMAGE_MIMES)
                for output in cell.outputs
            )
            if not shown:
                found.append(f"{where}: a plot cell showed no image")
    return found


def main():
    kernel, out_dir, paths = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3:]
    out_dir.mkdir(parents=True, exist_ok=True)
    failures, times = [], []
    for path in paths:
        name = pathlib.Path(path).stem
        nb = with_answers(nbformat.read(path, as_version=4))
        client = nbclient.NotebookClient(
            nb, kernel_name=kernel, timeout=600, allow_errors=True, startup_timeout=900
        )
        started = time.monotonic()
        try:
            client.execute()
        except Exception as e:  # a dead kernel or a timeout: report, go on to the next
            failures.append(f"{name}: execution stopped: {type(e).__name__}: {e}")
        times.append((name, time.monotonic() - started))
        nbformat.write(nb, out_dir / f"{name}.ipynb")
        failures += problems(nb, name)
        print(f"{name}: {times[-1][1]:.1f} s", flush=True)
    print("\n| notebook | seconds |\n|---|---|")
    for name, seconds in times:
        print(f"| {name} | {seconds:.1f} |")
    if failures:
        print("\nPROBLEMS:\n" + "\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
