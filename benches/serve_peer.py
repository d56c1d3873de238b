"""`ferrolab serve` beside MLServer, the same CNN, weights and client in one run.

    python benches/serve_peer.py [--ferrolab target/release/ferrolab] [--seconds 3]

Needs a venv with `mlserver==1.7.1 "uvloop<0.22" "tritonclient[http,grpc]" numpy safetensors`.
Trains the book's CNN for one epoch (`ferrolab train --checkpoint`), lays it out as a model
repository for both servers (MLServer runs a numpy implementation of the same network,
reading our safetensors), checks that both answer the same numbers, then times single-image
requests at concurrency 1, 4, 16 and 64 over HTTP JSON, HTTP binary (where the peer has
it) and gRPC, with and without dynamic batching. The servers run on one core (taskset),
the client on another. The same HTTP requests are also sent by `ferrolab load` (rows
`rust-*`), a one-thread Rust client: above a few thousand requests a second the Python client
saturates its own core before the server does. Prints a Markdown table and our samples per
second against the CNN's forward FLOPs at the core's peak.
"""

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

MODEL_PY = r'''
import numpy as np
from safetensors.numpy import load_file
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


def conv3x3_relu(x, w, b):
    # x (B, C, H, W), w (O, C, 3, 3) -> (B, O, H-2, W-2): im2col and one product.
    B, C, H, W = x.shape
    oh, ow = H - 2, W - 2
    cols = np.empty((B, C, 3, 3, oh, ow), dtype=x.dtype)
    for i in range(3):
        for j in range(3):
            cols[:, :, i, j] = x[:, :, i:i + oh, j:j + ow]
    cols = cols.reshape(B, C * 9, oh * ow)
    y = np.einsum("ok,bkp->bop", w.reshape(w.shape[0], -1), cols, optimize=True) + b[None, :, None]
    return np.maximum(y, 0).reshape(B, w.shape[0], oh, ow)


def maxpool2(x):
    B, C, H, W = x.shape
    h, w = H // 2, W // 2
    return x[:, :, :2 * h, :2 * w].reshape(B, C, h, 2, w, 2).max(axis=(3, 5))


class Cnn(MLModel):
    async def load(self):
        t = load_file(self.settings.parameters.uri)
        self.w = {k: v.astype(np.float32) for k, v in t.items()}
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        x = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32)
        w = self.w
        x = maxpool2(conv3x3_relu(x, w["conv_1.weight"], w["conv_1.bias"]))
        x = maxpool2(conv3x3_relu(x, w["conv_2.weight"], w["conv_2.bias"]))
        logits = x.reshape(x.shape[0], -1) @ w["dense.weight"].T + w["dense.bias"]
        return InferenceResponse(
            model_name=self.name,
            outputs=[NumpyCodec.encode_output("logits", logits.astype(np.float32))],
        )
'''


# aiohttp asks for gzip by default; the Triton client only inflates what it asked for itself.
# MLServer reads a JSON body only with its content type, which the Triton client leaves out.
PLAIN = {"Accept-Encoding": "identity"}
JSON = {"Accept-Encoding": "identity", "Content-Type": "application/json"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, what, proc, timeout=120):
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited: {proc.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1).status == 200:
                return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"{what} not ready after {timeout} s")


def run_load(ferrolab, client_core, binary, port, model, concurrency, seconds):
    """`ferrolab load`, the Rust client (one thread, on the client's core): the server's
    throughput where Python's clients saturate their own core first."""
    cmd = ["taskset", "-c", str(client_core), ferrolab, "load", "--url", f"http://127.0.0.1:{port}",
           "--model", model, "--input", "input:FP32:1,1,28,28", "--concurrency", str(concurrency),
           "--seconds", str(seconds)] + (["--binary"] if binary else [])
    r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    if r["errors"]:
        raise RuntimeError(f"{r['errors']} failed requests: {r['first_error']}")
    return r["throughput"], r["p50_ms"], r["p99_ms"]


async def run_cell(protocol, port, model, x, concurrency, seconds):
    import tritonclient.grpc.aio as grpcaio
    import tritonclient.http.aio as httpaio

    if protocol == "grpc":
        client = grpcaio.InferenceServerClient(url=f"127.0.0.1:{port}")

        def make():
            i = grpcaio.InferInput("input", list(x.shape), "FP32")
            i.set_data_from_numpy(x)
            return [i]
    else:
        client = httpaio.InferenceServerClient(url=f"127.0.0.1:{port}", conn_limit=concurrency)
        binary = protocol == "http-binary"

        def make():
            i = httpaio.InferInput("input", list(x.shape), "FP32")
            i.set_data_from_numpy(x, binary_data=binary)
            return [i]

    outputs = None
    headers = PLAIN if protocol == "http-binary" else JSON
    if protocol == "http-binary":
        outputs = [httpaio.InferRequestedOutput("logits", binary_data=True)]
    latencies = []
    stop = time.perf_counter() + seconds

    async def worker():
        while time.perf_counter() < stop:
            t = time.perf_counter()
            if protocol == "grpc":
                r = await client.infer(model, make())
            else:
                r = await client.infer(model, make(), outputs=outputs, headers=headers)
            r.as_numpy("logits")
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    elapsed = time.perf_counter() - start
    await client.close()
    lat = np.array(latencies) * 1e3
    return len(latencies) / elapsed, np.percentile(lat, 50), np.percentile(lat, 99)


async def check_same(ports, models, x):
    import tritonclient.http.aio as httpaio

    outs = []
    for port, model in zip(ports, models):
        c = httpaio.InferenceServerClient(url=f"127.0.0.1:{port}")
        i = httpaio.InferInput("input", list(x.shape), "FP32")
        i.set_data_from_numpy(x, binary_data=False)
        r = await c.infer(model, [i], outputs=[httpaio.InferRequestedOutput("logits", binary_data=False)],
                          headers=JSON)
        outs.append(r.as_numpy("logits"))
        await c.close()
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-4, atol=1e-4)
    return outs[0]


def cnn_flops():
    conv1 = 26 * 26 * 32 * (1 * 9) * 2
    conv2 = 11 * 11 * 64 * (32 * 9) * 2
    dense = 1600 * 10 * 2
    return conv1 + conv2 + dense


def core_peak_flops():
    mhz, avx512 = 0.0, False
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":")[1])
            if line.startswith("flags"):
                avx512 = "avx512f" in line
    lanes = 16 if avx512 else 8  # f32 lanes per FMA
    return mhz * 1e6 * 2 * lanes * 2, mhz, avx512  # 2 FMA units, 2 FLOPs per FMA


def main():
    p = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--ferrolab", default=os.path.join(root, "target/release/ferrolab"))
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--server-core", default="0")
    p.add_argument("--client-core", type=int, default=1)
    p.add_argument("--concurrency", default="1,4,16,64")
    # rust-*: the same requests from `ferrolab load` instead of tritonclient.
    p.add_argument("--protocols", default="http-json,http-binary,grpc,rust-http-json,rust-http-binary")
    a = p.parse_args()
    work = tempfile.mkdtemp(prefix="serve-peer-")
    repo = os.path.join(work, "ours")
    ckpt = os.path.join(repo, "cnn/1/model.safetensors")
    subprocess.run([a.ferrolab, "train", "cnn", "--epochs", "1", "--checkpoint", ckpt], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.copytree(os.path.join(repo, "cnn"), os.path.join(repo, "cnn_nobatch"))
    with open(os.path.join(repo, "cnn/ferrolab.json"), "w") as f:
        json.dump({"max_batch_size": 64, "max_queue_delay_microseconds": 1000}, f)
    with open(os.path.join(repo, "cnn_nobatch/ferrolab.json"), "w") as f:
        json.dump({"max_queue_delay_microseconds": 0}, f)

    peer = os.path.join(work, "peer")
    for name, batching in [("cnn", True), ("cnn_nobatch", False)]:
        d = os.path.join(peer, name)
        os.makedirs(d)
        with open(os.path.join(d, "models.py"), "w") as f:
            f.write(MODEL_PY)
        settings = {"name": name, "implementation": "models.Cnn", "parameters": {"uri": ckpt}}
        if batching:
            settings.update({"max_batch_size": 64, "max_batch_time": 0.001})
        with open(os.path.join(d, "model-settings.json"), "w") as f:
            json.dump(settings, f)
    ports = {k: free_port() for k in ["oh", "og", "om", "ph", "pg", "pm"]}
    with open(os.path.join(peer, "settings.json"), "w") as f:
        json.dump({"http_port": ports["ph"], "grpc_port": ports["pg"], "metrics_port": ports["pm"],
                   "parallel_workers": 0, "debug": False}, f)

    log = open(os.path.join(work, "servers.log"), "w")
    ours = subprocess.Popen(["taskset", "-c", a.server_core, a.ferrolab, "serve", "--quiet", "--models", repo,
                             "--http", f"127.0.0.1:{ports['oh']}", "--grpc", f"127.0.0.1:{ports['og']}",
                             "--metrics", f"127.0.0.1:{ports['om']}"], stdout=log, stderr=log)
    mlserver = shutil.which("mlserver", path=os.path.dirname(sys.executable))
    theirs = subprocess.Popen(["taskset", "-c", a.server_core, mlserver, "start", peer], stdout=log, stderr=log,
                              cwd=peer)
    try:
        wait_ready(ports["oh"], "ferrolab serve", ours)
        wait_ready(ports["ph"], "MLServer", theirs)
        os.sched_setaffinity(0, {a.client_core})
        rng = np.random.default_rng(0)
        x = rng.random((1, 1, 28, 28), dtype=np.float32)
        for model in ("cnn", "cnn_nobatch"):
            asyncio.run(check_same([ports["oh"], ports["ph"]], [model, model], rng.random((3, 1, 28, 28),
                                                                                      dtype=np.float32)))
        print("outputs: ferrolab serve and MLServer agree (rtol 1e-4) on both models")
        rows = []
        for protocol in a.protocols.split(","):
            for model in ("cnn", "cnn_nobatch"):
                for c in map(int, a.concurrency.split(",")):
                    cell = {}
                    for who, port in [("ours", ports["og"] if protocol == "grpc" else ports["oh"]),
                                      ("peer", ports["pg"] if protocol == "grpc" else ports["ph"])]:
                        try:
                            if protocol.startswith("rust-"):
                                binary = protocol == "rust-http-binary"
                                if binary and who == "peer":
                                    raise RuntimeError("MLServer has no binary tensor extension")
                                cell[who] = run_load(a.ferrolab, a.client_core, binary, port, model, c, a.seconds)
                                continue
                            asyncio.run(run_cell(protocol, port, model, x, c, 0.5))  # warm-up
                            cell[who] = asyncio.run(run_cell(protocol, port, model, x, c, a.seconds))
                        except Exception as e:
                            cell[who] = None
                            print(f"{who} {protocol} {model} c={c}: {type(e).__name__}: {str(e)[:100]}")
                    rows.append((protocol, model != "cnn_nobatch", c, cell["ours"], cell["peer"]))
                    o, pr = cell["ours"], cell["peer"]
                    print(protocol, model, c, o, pr, flush=True)
        print()
        print("| protocol | batching | conc. | ferrolab req/s | p50 ms | p99 ms | MLServer req/s | p50 ms | p99 ms "
              "| throughput × | p99 ÷ |")
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        best = 0.0
        for protocol, batching, c, o, pr in rows:
            fmt = lambda r: f"{r[0]:.0f} | {r[1]:.2f} | {r[2]:.2f}" if r else "n/a | n/a | n/a"
            ratio = f"{o[0] / pr[0]:.1f}" if o and pr else "n/a"
            p99 = f"{pr[2] / o[2]:.1f}" if o and pr else "n/a"
            print(f"| {protocol} | {'yes' if batching else 'no'} | {c} | {fmt(o)} | {fmt(pr)} | {ratio} | {p99} |")
            if o:
                best = max(best, o[0])
        peak, mhz, avx512 = core_peak_flops()
        flops = cnn_flops()
        print()
        print(f"CNN forward: {flops / 1e6:.2f} MFLOP per sample; best {best:.0f} samples/s on one core = "
              f"{best * flops / 1e9:.2f} GFLOP/s, {100 * best * flops / peak:.1f} % of the core's peak "
              f"({peak / 1e9:.0f} GFLOP/s at {mhz:.0f} MHz, {'AVX-512' if avx512 else 'AVX2'} FMA, 2 units)")
    finally:
        for proc in (ours, theirs):
            proc.terminate()
        for proc in (ours, theirs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
