"""CurveZMQ transport encryption with jupyter_client >= 8.9, on the mock engine (the
transport is under test, not Rust cells).

1. transport_encryption="required" over tcp: the connection file carries the key pair and
   cells run.
2. A client with the right HMAC key but without the CURVE keys gets no reply (the same
   probe is answered by a kernel without encryption).
3. The same over ipc.
4. Without encryption over tcp the kernel's log warns about plain TCP.

Prints one JSON line; kernel/tests/clients.rs asserts on it.
"""

import json
import os
import sys
import tempfile

import zmq
from jupyter_client.manager import KernelManager
from jupyter_client.session import Session

NAME = "ferrolab-curve"


def run(kc, code):
    value = {}

    def output(msg):
        if msg["msg_type"] == "execute_result":
            value["v"] = msg["content"]["data"].get("text/plain")

    reply = kc.execute_interactive(code, timeout=60, output_hook=output)
    return reply["content"]["status"], value.get("v")


def start(log, **kw):
    km = KernelManager(kernel_name=NAME, **{k: v for k, v in kw.items() if k == "transport"})
    km.start_kernel(stderr=log, **{k: v for k, v in kw.items() if k != "transport"})
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    return km, kc


def intrude(info):
    """A correctly signed kernel_info_request over plain ZeroMQ; the reply's type or None."""
    session = Session(key=info["key"].encode(), signature_scheme=info["signature_scheme"])
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(f"tcp://{info['ip']}:{info['shell_port']}")
    frames = session.serialize(session.msg("kernel_info_request", {}))
    try:
        sock.send_multipart(frames, flags=zmq.NOBLOCK)
    except zmq.Again:  # the refused connection is already gone
        pass
    reply = None
    if sock.poll(5000):
        reply = session.recv(sock)[1]["msg_type"]
    sock.close()
    return reply


def info_of(km):
    with open(km.connection_file) as f:
        return json.load(f)


seen = {}
tmp = tempfile.mkdtemp()
with open(os.path.join(tmp, "tcp.log"), "w") as log:
    km, kc = start(log, transport_encryption="required")
    try:
        info = info_of(km)
        seen["keys_in_file"] = "curve_publickey" in info and "curve_secretkey" in info
        seen["tcp_encrypted_cell"] = run(kc, "let x = 20\nx * 2 + 2")
        # The right HMAC key, no CURVE keys: the kernel's CURVE server refuses the
        # handshake, so nothing reaches the kernel and nothing comes back. A bare socket
        # with no linger and a non-blocking send, not a KernelClient: once the handshake
        # fails, libzmq drops the connection, and a client's heartbeat thread would then
        # block forever in its next send (stop_channels joins that thread).
        seen["intruder_reply"] = intrude(info)
        # The keyed client still works after the attempt.
        seen["tcp_after_intruder"] = run(kc, "x")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

with open(os.path.join(tmp, "ipc.log"), "w") as log:
    km, kc = start(log, transport="ipc", transport_encryption="required")
    try:
        seen["ipc_transport"] = info_of(km)["transport"]
        seen["ipc_encrypted_cell"] = run(kc, "6 * 7")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

with open(os.path.join(tmp, "plain.log"), "w") as log:
    km, kc = start(log)
    try:
        seen["plain_cell"] = run(kc, "1 + 1")
        # The same probe as the intruder's, against a kernel without CURVE: it is answered.
        seen["probe_without_curve"] = intrude(info_of(km))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)

logs = {name: open(os.path.join(tmp, f"{name}.log")).read() for name in ("tcp", "ipc", "plain")}
seen["plain_warns"] = "plain TCP" in logs["plain"]
seen["encrypted_says_so"] = "CurveZMQ encryption" in logs["tcp"] and "CurveZMQ encryption" in logs["ipc"]
seen["encrypted_no_warning"] = "plain TCP" not in logs["tcp"]
print(json.dumps(seen))
sys.stdout.flush()
