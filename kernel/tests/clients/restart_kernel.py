"""restart_kernel from a jupyter_client: the old kernel and its runtime go, a new one
answers with the library loaded and none of the old variables.

Run by kernel/tests/clients.rs with JUPYTER_PATH holding a `ferrolab-test` kernelspec.
Prints one JSON line of what it saw; the Rust test asserts on it.
"""

import json
import os
import sys

from jupyter_client.manager import start_new_kernel

CELL_TIMEOUT = 900  # the first cell may build the library


def run(kc, code):
    """Runs `code`; returns (reply content, text/plain result or None)."""
    result = {}

    def output(msg):
        if msg["msg_type"] == "execute_result":
            result["value"] = msg["content"]["data"].get("text/plain")

    reply = kc.execute_interactive(code, timeout=CELL_TIMEOUT, output_hook=output)
    return reply["content"], result.get("value")


def children(pid):
    """Live processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 1 :].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


km, kc = start_new_kernel(kernel_name="ferrolab-test", startup_timeout=60)
seen = {}
try:
    content, _ = run(kc, "let kept = 41u32;")
    seen["defined"] = content["status"]
    old_pid = km.provisioner.process.pid
    old_children = children(old_pid)
    km.restart_kernel(now=False)
    seen["old_kernel_gone"] = not alive(old_pid)
    seen["old_children_left"] = [p for p in old_children if alive(p)]
    seen["new_pid_differs"] = km.provisioner.process.pid != old_pid
    kc.wait_for_ready(timeout=60)
    content, value = run(kc, "Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()")
    seen["library_after"] = [content["status"], value]
    content, _ = run(kc, "kept")
    seen["kept_after"] = [content["status"], content.get("ename"), content.get("evalue", "")[:200]]
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=False)
print(json.dumps(seen))
sys.stdout.flush()
