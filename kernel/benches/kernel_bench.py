#!/usr/bin/env python3
"""Kernel latency benchmark: ferrolab beside evcxr_jupyter and ipykernel, in one run.

Not a test: it prints a table. Every kernel is driven through jupyter_client the
same way: start -> kernel_info reply (a kernel_info request sent as soon as the
channels are up, as `wait_for_ready` does, without its fixed 0.2 s IOPub flush, which
is shown as its own row), a `:` command round trip (ipykernel: `1+1`, its cheapest
cell), the first library cell from launch and once the kernel is idle (ferrolab;
evcxr with --evcxr-library, which adds the library with `:dep` as an evcxr user would,
in a persistent EVCXR_TMPDIR), warm `1+1`, interrupt ->
idle during training (ferrolab: the library's `fit`; the others: a loop), and the
resident memory of the kernel and its children. Kernels that are not installed are
skipped and say so.

    python kernel/benches/kernel_bench.py [--ferrolab PATH] [--evcxr PATH] [--evcxr-library] [--repeat N]

Needs jupyter_client (and ipykernel for the Python column). Run `ferrolab warmup`
first, or the first library cell includes the one-time library build. The machine
is shared: compare the ratios from one run, not absolute times across runs.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from queue import Empty

from jupyter_client.manager import KernelManager

LIBRARY_CELL = (
    "let dev = Cpu::default();\n"
    "let cnn = Cnn::<f32, Cpu>::new(&dev);\n"
    "cnn.summary().total_params()"
)

# Training that the interrupt stops at the next batch; the model lives in an earlier cell.
FERROLAB_SETUP = (
    "let data = ferrolab::data::digits();\n"
    "let mut mlp = Mlp::<f32, Cpu>::new(&Cpu::seed_from_u64(0), 64, 32, 10);"
)
FERROLAB_LOOP = "mlp.fit(&data, &FitConfig::default().epochs(1_000_000)).unwrap();"
LIBRARY_ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
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


def interrupt_to_idle(km, kc, code, marker):
    msg_id = kc.execute(code)
    deadline = time.time() + 300
    while time.time() < deadline:  # wait until the loop runs
        msg = kc.get_iopub_msg(timeout=300)
        if msg["parent_header"].get("msg_id") == msg_id and marker in msg["content"].get("text", ""):
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


def first_kernel_info(kc, deadline=300):
    """Sends kernel_info until a reply arrives (a request sent before the kernel binds is
    retried after a second, as jupyter_client does)."""
    end = time.time() + deadline
    while time.time() < end:
        msg_id = kc.kernel_info()
        try:
            while True:
                msg = kc.get_shell_msg(timeout=1)
                if msg["parent_header"].get("msg_id") == msg_id:
                    return
        except Empty:
            continue
    raise RuntimeError("no kernel_info_reply")


def launch(name, root):
    """Starts kernel `name` and its client channels; returns (manager, client, start time)."""
    km = KernelManager(kernel_name=name)
    km.kernel_spec_manager.kernel_dirs = [os.path.join(root, "kernels")]
    start = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    return km, kc, start


def start_times(name, root):
    """(start -> kernel_info reply, start -> wait_for_ready) for a fresh kernel, seconds."""
    times = []
    for wait in (first_kernel_info, lambda kc: kc.wait_for_ready(timeout=300)):
        km, kc, start = launch(name, root)
        wait(kc)
        times.append(time.perf_counter() - start)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return tuple(times)


IDLE_WAIT_S = 30


def first_cell_once_started(name, root, prepare, cell):
    """Seconds the first library cell takes once the kernel has started and is idle, as when a
    learner reads the notebook's introduction first: `prepare` (evcxr: the `:dep` line) runs
    untimed; without one (ferrolab, which starts in the background) the cell is sent
    IDLE_WAIT_S after launch."""
    km, kc, _ = launch(name, root)
    try:
        kc.wait_for_ready(timeout=300)
        if prepare:
            run_cell(kc, prepare)
        else:
            time.sleep(IDLE_WAIT_S)
        took, content = run_cell(kc, cell)
        return took if content["status"] == "ok" else float("nan")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def bench(name, root, command, warm_code, setup_code, loop_code, library, prepare, repeat):
    row = {"kernel": name}
    infos, readies = zip(*(start_times(name, root) for _ in range(3)))
    row["start -> kernel_info reply (s)"] = statistics.median(infos)
    row["start -> wait_for_ready (s)"] = statistics.median(readies)
    if library:
        row["first library cell, kernel idle (s)"] = first_cell_once_started(name, root, prepare, library[-1])
    km, kc, start = launch(name, root)
    kc.wait_for_ready(timeout=300)
    try:
        if library:
            for cell in library:
                _, content = run_cell(kc, cell)
            ok = content["status"] == "ok"
            row["first library cell from launch (s)"] = time.perf_counter() - start if ok else float("nan")
        times = [run_cell(kc, command)[0] for _ in range(repeat)]
        row["command round trip (ms)"] = 1000 * statistics.median(times)
        run_cell(kc, warm_code)
        times = [run_cell(kc, warm_code)[0] for _ in range(repeat)]
        row["warm 1+1 (ms)"] = 1000 * statistics.median(times)
        if setup_code:
            run_cell(kc, setup_code)
        marker = "epoch 1/" if setup_code else "running"  # fit's first epoch line
        row["interrupt -> idle (s)"] = interrupt_to_idle(km, kc, loop_code, marker)
        row["RSS (MB)"] = rss_mb(km.provisioner.process.pid)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return row


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "..", "target"))
    built = [os.path.join(target, p, "ferrolab") for p in ("release", "debug")]
    ap.add_argument("--ferrolab", default=next((b for b in built if os.path.exists(b)), built[-1]))
    ap.add_argument("--evcxr", default=shutil.which("evcxr_jupyter"))
    ap.add_argument("--evcxr-library", action="store_true", help="also time evcxr's first library cell, with `:dep` in a persistent EVCXR_TMPDIR (the first run builds the library and dfdx there: minutes)")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    root = tempfile.mkdtemp()
    rows = []
    write_spec(root, "ferrolab", [os.path.abspath(args.ferrolab), "kernel", "-f", "{connection_file}"])
    print(f"ferrolab: {args.ferrolab}")
    rows.append(bench("ferrolab", root, ":version", "1+1", FERROLAB_SETUP, FERROLAB_LOOP, [LIBRARY_CELL], None, args.repeat))
    if args.evcxr:
        env = None
        library = None
        if args.evcxr_library:
            # A persistent build dir, as for ours: the library and dfdx build once (first
            # run of this script), and later runs time what an evcxr user with
            # EVCXR_TMPDIR set sees.
            tmpdir = os.path.join(os.path.expanduser("~"), ".cache", "ferrolab", "bench-evcxr-tmpdir")
            os.makedirs(tmpdir, exist_ok=True)
            # With a fixed tmpdir, evcxr_jupyter's runtime cannot dlopen a cell (it is built
            # with -C prefer-dynamic) unless the toolchain's libstd is on the library path.
            libdir = subprocess.run(["rustc", "--print", "target-libdir"], capture_output=True, text=True).stdout.strip()
            env = {"EVCXR_TMPDIR": tmpdir, "LD_LIBRARY_PATH": libdir}
            dep = f':dep ferrolab = {{ path = "{LIBRARY_ROOT}" }}'
            library = [dep, "use ferrolab::prelude::*;\n" + LIBRARY_CELL]
        write_spec(root, "evcxr", [args.evcxr, "--control_file", "{connection_file}"], env=env)
        if library:
            first_cell_once_started("evcxr", root, *library)  # builds the library once, untimed
        rows.append(bench("evcxr", root, ":version", "1+1", None, EVCXR_LOOP, library, library and library[0], args.repeat))
    else:
        print("evcxr_jupyter not found: skipped (cargo install evcxr_jupyter --version 0.22.0 --locked)")
    try:
        import ipykernel  # noqa: F401

        write_spec(root, "ipykernel", [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], language="python")
        rows.append(bench("ipykernel", root, "1+1", "1+1", None, PYTHON_LOOP, None, None, args.repeat))
    except ImportError:
        print("ipykernel not installed in this Python: skipped")
    shutil.rmtree(root, ignore_errors=True)

    keys = []
    for r in rows:
        keys += [k for k in r if k != "kernel" and k not in keys]
    print("\n| metric | " + " | ".join(r["kernel"] for r in rows) + " | ratios (ferrolab / other) |")
    print("|---|" + "---|" * len(rows) + "---|")
    for k in keys:
        cells = [f"{r[k]:.3g}" if k in r else "-" for r in rows]
        ratios = [f"{rows[0][k] / r[k]:.2f}x {r['kernel']}" for r in rows[1:] if k in r and k in rows[0] and r[k]]
        print(f"| {k} | " + " | ".join(cells) + " | " + ", ".join(ratios) + " |")


if __name__ == "__main__":
    main()
