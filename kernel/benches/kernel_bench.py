#!/usr/bin/env python3
"""Kernel latency benchmark: ferrolab beside evcxr_jupyter and ipykernel, in one run.

Not a test: it prints a table. Every kernel is driven through jupyter_client the
same way: start -> kernel_info, a `:` command round trip (ipykernel: `1+1`, its
cheapest cell), warm `1+1`, the first library cell (ferrolab only), interrupt ->
idle during a running loop, and the resident memory of the kernel and its
children. Kernels that are not installed are skipped and say so.

    python kernel/benches/kernel_bench.py [--ferrolab PATH] [--evcxr PATH] [--repeat N]

Needs jupyter_client (and ipykernel for the Python column). Run `ferrolab warmup`
first, or the first library cell includes the one-time library build. The machine
is shared: compare the ratios from one run, not absolute times across runs.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time

from jupyter_client.manager import KernelManager

LIBRARY_CELL = (
    "let dev = Cpu::default();\n"
    "let cnn = Cnn::<f32, Cpu>::new(&dev);\n"
    "cnn.summary().total_params()"
)

# A loop that stops at SIGINT, as the library's training loop does with its cancel
# flag (a stand-in until `fit` is available on this branch).
FERROLAB_LOOP = r"""
static STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
extern "C" fn on_sigint(_: i32) { STOP.store(true, std::sync::atomic::Ordering::SeqCst); }
unsafe extern "C" { fn signal(sig: i32, handler: extern "C" fn(i32)) -> usize; }
unsafe { signal(2, on_sigint); }
println!("running");
while !STOP.load(std::sync::atomic::Ordering::SeqCst) { std::thread::sleep(std::time::Duration::from_millis(5)); }
"""
EVCXR_LOOP = 'println!("running");\nloop { std::thread::sleep(std::time::Duration::from_millis(5)); }'
PYTHON_LOOP = 'import time\nprint("running", flush=True)\nwhile True: time.sleep(0.005)'


def write_spec(root, name, argv, env=None, language="rust"):
    d = os.path.join(root, "kernels", name)
    os.makedirs(d, exist_ok=True)
    spec = {"argv": argv, "display_name": name, "language": language, "interrupt_mode": "message"}
    if env:
        spec["env"] = env
    with open(os.path.join(d, "kernel.json"), "w") as f:
        json.dump(spec, f)


def rss_mb(pid):
    """Resident memory of pid and all its descendants, in MB (Linux /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rfind(")") + 2 :].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    family, frontier = {pid}, [pid]
    while frontier:
        p = frontier.pop()
        for child, parent in parents.items():
            if parent == p and child not in family:
                family.add(child)
                frontier.append(child)
    total = 0
    for p in family:
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def run_cell(kc, code, timeout=900):
    """Executes code; returns (seconds to idle, reply content)."""
    start = time.perf_counter()
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
    return time.perf_counter() - start, reply["content"]


def interrupt_to_idle(km, kc, code):
    msg_id = kc.execute(code)
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until the loop runs
        msg = kc.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") == msg_id and "running" in msg["content"].get("text", ""):
            break
    start = time.perf_counter()
    km.interrupt_kernel()
    while True:
        msg = kc.get_iopub_msg(timeout=300)
        if (
            msg["parent_header"].get("msg_id") == msg_id
            and msg["msg_type"] == "status"
            and msg["content"]["execution_state"] == "idle"
        ):
            return time.perf_counter() - start


def bench(name, root, command, warm_code, loop_code, library, repeat):
    row = {"kernel": name}
    km = KernelManager(kernel_name=name)
    km.kernel_spec_manager.kernel_dirs = [os.path.join(root, "kernels")]
    start = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=300)
    row["start -> kernel_info (s)"] = time.perf_counter() - start
    try:
        times = [run_cell(kc, command)[0] for _ in range(repeat)]
        row["command round trip (ms)"] = 1000 * statistics.median(times)
        if library:
            secs, content = run_cell(kc, LIBRARY_CELL)
            row["first library cell (s)"] = secs if content["status"] == "ok" else float("nan")
        run_cell(kc, warm_code)
        times = [run_cell(kc, warm_code)[0] for _ in range(repeat)]
        row["warm 1+1 (ms)"] = 1000 * statistics.median(times)
        row["interrupt -> idle (s)"] = interrupt_to_idle(km, kc, loop_code)
        row["RSS (MB)"] = rss_mb(km.provisioner.process.pid)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "..", "target"))
    ap.add_argument("--ferrolab", default=os.path.join(target, "debug", "ferrolab"))
    ap.add_argument("--evcxr", default=shutil.which("evcxr_jupyter"))
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    root = tempfile.mkdtemp()
    rows = []
    write_spec(root, "ferrolab", [os.path.abspath(args.ferrolab), "kernel", "-f", "{connection_file}"])
    rows.append(bench("ferrolab", root, ":version", "1+1", FERROLAB_LOOP, True, args.repeat))
    if args.evcxr:
        write_spec(root, "evcxr", [args.evcxr, "--control_file", "{connection_file}"])
        rows.append(bench("evcxr", root, ":version", "1+1", EVCXR_LOOP, False, args.repeat))
    else:
        print("evcxr_jupyter not found: skipped (cargo install evcxr_jupyter --version 0.22.0 --locked)")
    try:
        import ipykernel  # noqa: F401

        write_spec(root, "ipykernel", [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], language="python")
        rows.append(bench("ipykernel", root, "1+1", "1+1", PYTHON_LOOP, False, args.repeat))
    except ImportError:
        print("ipykernel not installed in this Python: skipped")
    shutil.rmtree(root, ignore_errors=True)

    keys = [k for k in rows[0] if k != "kernel"]
    print("\n| metric | " + " | ".join(r["kernel"] for r in rows) + " | ratios (ferrolab / other) |")
    print("|---|" + "---|" * len(rows) + "---|")
    for k in keys:
        cells = [f"{r[k]:.3g}" if k in r else "-" for r in rows]
        ratios = [f"{rows[0][k] / r[k]:.2f}x {r['kernel']}" for r in rows[1:] if k in r and r[k]]
        print(f"| {k} | " + " | ".join(cells) + " | " + ", ".join(ratios) + " |")


if __name__ == "__main__":
    main()
