"""Jupyter Kernel Gateway on 127.0.0.1 with four ferrolab kernels at once.

Starts the gateway (token auth), creates four kernels through its REST API at the same
moment, runs a library cell on each over its websocket concurrently, measures each
kernel's memory (the kernel process and its runtime, RSS) and how long the four first
cells took together, deletes the kernels through the API and checks that no process of
theirs is left. Prints one JSON line; kernel/tests/clients.rs asserts on it.
"""

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid

from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

KERNELS = 4
CELL = "Cnn::<f32, Cpu>::new(&Cpu::default()).summary().total_params()"
CELL_TIMEOUT = 900


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_table():
    """pid -> (ppid, rss KiB, cmdline) for live processes."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 1 :].split()
        if fields[0] == "Z":
            continue
        rss_pages = int(fields[21])
        table[int(entry)] = (int(fields[1]), rss_pages * os.sysconf("SC_PAGE_SIZE") // 1024, cmd)
    return table


def descendants(pid, table):
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        for child, (ppid, _, _) in table.items():
            if ppid == p:
                found.append(child)
                stack.append(child)
    return found


async def run_cell(base_ws, token, kernel_id):
    """Runs CELL on one kernel over the websocket; (value, seconds)."""
    url = f"{base_ws}/api/kernels/{kernel_id}/channels"
    ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {token}"}))
    msg_id = uuid.uuid4().hex
    request = {
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": CELL, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False},
    }
    started = time.monotonic()
    await ws.write_message(json.dumps(request))
    value, status = None, None
    while status is None or value is None:
        raw = await asyncio.wait_for(ws.read_message(), CELL_TIMEOUT)
        if raw is None:
            break
        msg = json.loads(raw)
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            value = msg["content"]["data"].get("text/plain")
        elif msg["msg_type"] == "execute_reply":
            status = msg["content"]["status"]
            if status != "ok":
                break
    took = time.monotonic() - started
    ws.close()
    return value, status, took


async def main():
    port, token = free_port(), uuid.uuid4().hex
    gateway = subprocess.Popen(
        [sys.executable, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1",
         f"--KernelGatewayApp.port={port}", f"--KernelGatewayApp.auth_token={token}",
         "--KernelGatewayApp.default_kernel_name=ferrolab-test",
         "--JupyterWebsocketPersonality.list_kernels=True"],
        stdout=subprocess.DEVNULL, stderr=open(os.environ.get("GATEWAY_LOG", os.devnull), "w"),
    )
    seen = {}
    try:
        base, base_ws = f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}"
        http = AsyncHTTPClient()
        auth = {"Authorization": f"token {token}"}
        for _ in range(300):
            try:
                await http.fetch(f"{base}/api", headers=auth)
                break
            except Exception:
                await asyncio.sleep(0.1)
        # Four kernels at the same moment.
        created = await asyncio.gather(*[
            http.fetch(f"{base}/api/kernels", method="POST", headers=auth,
                       body=json.dumps({"name": "ferrolab-test"}), request_timeout=120)
            for _ in range(KERNELS)])
        ids = [json.loads(r.body)["id"] for r in created]
        seen["created"] = len(set(ids))
        started = time.monotonic()
        results = await asyncio.gather(*[run_cell(base_ws, token, k) for k in ids])
        seen["four_first_cells_s"] = round(time.monotonic() - started, 1)
        seen["results"] = [[v, s, round(t, 1)] for v, s, t in results]
        table = proc_table()
        kernels = [p for p in descendants(gateway.pid, table) if " kernel -f " in table[p][2]]
        seen["kernel_processes"] = len(kernels)
        seen["rss_mib_per_kernel"] = [
            round(sum(table[p][1] for p in [k] + descendants(k, table)) / 1024)
            for k in kernels]
        everything = descendants(gateway.pid, table)
        for k in ids:
            await http.fetch(f"{base}/api/kernels/{k}", method="DELETE", headers=auth)
        listed = await http.fetch(f"{base}/api/kernels", headers=auth)
        seen["listed_after_delete"] = len(json.loads(listed.body))
        time.sleep(1)
        seen["left_after_delete"] = [p for p in everything if p in proc_table()]
    finally:
        gateway.terminate()
        gateway.wait(30)
    print(json.dumps(seen))


asyncio.run(main())
