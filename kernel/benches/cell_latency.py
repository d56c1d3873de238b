#!/usr/bin/env python3
"""Time from submitting a cell to its first output, through the real ferrolab kernel.

Usage: python kernel/benches/cell_latency.py PATH/TO/ferrolab [--rounds N]

Starts the kernel with jupyter_client, warms it (first cell, library loaded), then for
each cell below submits it N times (fresh variable names, so nothing is cached by name)
and reports the median time to the first output message (stream, display_data,
update_display_data, execute_result or error) and to the execute_reply. The `fit` cells'
first output is the progress display, which `fit` sends before the first batch; the
rest of the time until the reply is training (one short epoch).

Run it on a quiet machine; compare runs of the same binary against another only when
taken back to back.
"""

import json
import os
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager

OUTPUTS = {"stream", "display_data", "update_display_data", "execute_result", "error"}

SETUP = """
let dev = Cpu::seed_from_u64(0);
let data = digits_28x28().stratified_split(0.2, 42).unwrap();
let small = data.train.subset(&(0..320).collect::<Vec<_>>());
"""

CELLS = {
    "value": "1 + {i}",
    "summary": "let model_{i} = Cnn::<f32, Cpu>::new(&dev);\nmodel_{i}.summary()",
    # The free function: the cell monomorphises the training loop for `Cnn`.
    "fit(&mut m)": (
        "let mut cnn_{i} = Cnn::<f32, Cpu>::new(&dev);\n"
        "let history_{i} = fit(&mut cnn_{i}, &small, &FitConfig::default().epochs(1).batch_size(32)).unwrap();\n"
        "history_{i}.accuracy.len()"
    ),
    # The `Keras` method: the cell links to the copy compiled with the library.
    "m.fit()": (
        "let mut lenet_{i} = Cnn::<f32, Cpu>::new(&dev);\n"
        "let fitted_{i} = lenet_{i}.fit(&small, &FitConfig::default().epochs(1).batch_size(32)).unwrap();\n"
        "fitted_{i}.accuracy.len()"
    ),
}


def kernelspec(binary: str) -> str:
    data = tempfile.mkdtemp(prefix="ferrolab-latency-")
    spec = os.path.join(data, "kernels", "ferrolab-latency")
    os.makedirs(spec)
    with open(os.path.join(spec, "kernel.json"), "w") as f:
        json.dump(
            {
                "argv": [binary, "kernel", "-f", "{connection_file}"],
                "display_name": "ferrolab latency",
                "language": "rust",
                "interrupt_mode": "message",
            },
            f,
        )
    return data


def run(client, code: str, timeout: float = 600.0):
    """(seconds to first output or None, seconds to reply, reply status)."""
    start = time.perf_counter()
    msg_id = client.execute(code)
    first = None
    status = None
    while True:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind in OUTPUTS and first is None:
            first = time.perf_counter() - start
        if kind == "error":
            print("error:", msg["content"].get("evalue"), file=sys.stderr)
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            break
    reply = client.get_shell_msg(timeout=timeout)
    status = reply["content"]["status"]
    return first, time.perf_counter() - start, status


def main() -> None:
    binary = os.path.abspath(sys.argv[1])
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    os.environ["JUPYTER_PATH"] = kernelspec(binary)
    km = KernelManager(kernel_name="ferrolab-latency")
    km.start_kernel()
    client = km.client()
    client.start_channels()
    client.wait_for_ready(timeout=600)
    try:
        _, warm, status = run(client, SETUP)
        print(f"first cell (engine start, library, data): {warm:.2f} s ({status})")
        results = {}
        for i in range(rounds):
            for name, template in CELLS.items():
                first, total, status = run(client, template.format(i=i))
                assert status == "ok", f"{name} cell failed"
                results.setdefault(name, []).append((first, total))
        print(f"{'cell':<14}{'first output (s)':>18}{'reply (s)':>12}   runs")
        for name, runs in results.items():
            firsts = [f for f, _ in runs if f is not None]
            first = statistics.median(firsts) if firsts else float("nan")
            total = statistics.median(t for _, t in runs)
            shown = ", ".join(f"{f:.2f}/{t:.2f}" for f, t in runs)
            print(f"{name:<14}{first:>18.2f}{total:>12.2f}   {shown}")
        print(json.dumps({n: statistics.median(f for f, _ in r if f is not None) for n, r in results.items()}))
    finally:
        client.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
