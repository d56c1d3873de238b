"""The real Triton clients against `ferrolab serve`, driven by kernel/tests/serve.rs.

    clients.py MODE --http PORT --grpc PORT --metrics PORT --pid PID --dir DIR

DIR holds `expected.json`: inputs and the outputs the library's own forward pass gives for
them. Modes: `features` (every client call that maps to a feature, and the negative
cases), `reload` (a new version loaded under load, no request may fail), `sigterm`
(SIGTERM under load: every answered request is a correct answer, the server exits),
`barrage` (10,000 malformed HTTP requests and 5,000 malformed gRPC messages; the server
still answers correctly and its memory stays bounded). Any failed check raises.
"""

import argparse
import asyncio
import gzip
import http.client
import json
import os
import random
import shutil
import signal
import socket
import threading
import time
import urllib.request
import zlib

import grpc
import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
import tritonclient.http.aio as aioclient
from tritonclient.utils import InferenceServerException, np_to_triton_dtype

TOL = dict(rtol=1e-4, atol=1e-5)


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def case(expected, name):
    c = expected[name]
    x = np.array(c["input"], dtype=np.float32).reshape(c["shape"])
    logits = np.array(c["logits"], dtype=np.float32).reshape(c["shape"][0], -1)
    return x, logits


def expect_error(fn, status, words=""):
    try:
        fn()
    except InferenceServerException as e:
        got = str(e.status())
        assert got == status or got.endswith(status), f"expected status {status}, got {got}: {e.message()}"
        assert words.lower() in (e.message() or "").lower(), f"{words!r} not in {e.message()!r}"
        return e
    raise AssertionError(f"expected an error {status}")


def http_input(x, binary, name="input"):
    i = httpclient.InferInput(name, list(x.shape), np_to_triton_dtype(x.dtype))
    i.set_data_from_numpy(x, binary_data=binary)
    return i


def grpc_input(x, name="input"):
    i = grpcclient.InferInput(name, list(x.shape), np_to_triton_dtype(x.dtype))
    i.set_data_from_numpy(x)
    return i


def post(port, path, body, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("POST", path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


def scrape(port):
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return text, out


# ---------------------------------------------------------------- features


def check_text_classifier(h, g, want):
    """A BERT classifier saved as a Hugging Face directory: text in, class logits and
    probabilities out, over HTTP (binary BYTES) and gRPC."""
    texts = np.array([t.encode() for t in want["texts"]], dtype=np.object_)
    logits = np.array(want["logits"], dtype=np.float32).reshape(len(texts), -1)
    i = httpclient.InferInput("text", [len(texts)], "BYTES")
    i.set_data_from_numpy(texts, binary_data=True)
    r = h.infer("sentiment", [i])
    np.testing.assert_allclose(r.as_numpy("logits"), logits, **TOL)
    np.testing.assert_allclose(r.as_numpy("probabilities"), softmax(logits), **TOL)
    i = grpcclient.InferInput("text", [len(texts)], "BYTES")
    i.set_data_from_numpy(texts)
    np.testing.assert_allclose(g.infer("sentiment", [i]).as_numpy("probabilities"), softmax(logits), **TOL)
    meta = h.get_model_metadata("sentiment")
    assert meta["inputs"][0]["datatype"] == "BYTES", meta
    assert [o["shape"] for o in meta["outputs"]] == [[-1, 2], [-1, 2]], meta
    print("bert classifier text in, probabilities out: ok")


def features(a, expected):
    url = f"127.0.0.1:{a.http}"
    h = httpclient.InferenceServerClient(url=url, concurrency=8)
    g = grpcclient.InferenceServerClient(url=f"127.0.0.1:{a.grpc}")
    x, logits = case(expected, "cnn")
    probs = softmax(logits)

    # Health and metadata, both protocols.
    assert h.is_server_live() and h.is_server_ready()
    assert g.is_server_live() and g.is_server_ready()
    meta = h.get_server_metadata()
    assert meta["name"] == "ferrolab" and set(meta["extensions"]) >= {
        "binary_tensor_data",
        "model_configuration",
        "statistics",
        "model_repository",
    }, meta
    assert g.get_server_metadata(as_json=True)["extensions"] == meta["extensions"]
    assert h.is_model_ready("cnn") and h.is_model_ready("cnn", "1")
    assert g.is_model_ready("cnn") and g.is_model_ready("cnn", "1")
    m = h.get_model_metadata("cnn")
    assert m["versions"] == ["1"] and m["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 1, 28, 28]}], m
    assert [o["name"] for o in m["outputs"]] == ["logits", "probabilities"]
    assert m["outputs"][0]["shape"] == [-1, 10]
    gm = g.get_model_metadata("cnn", "1", as_json=True)
    assert gm["inputs"][0]["shape"] == ["-1", "1", "28", "28"], gm  # int64 as JSON strings
    cfg = h.get_model_config("cnn")
    assert cfg["max_batch_size"] == 64 and cfg["input"][0]["dims"] == [1, 28, 28], cfg
    assert cfg["input"][0]["data_type"] == "TYPE_FP32" and cfg["instance_group"][0]["kind"] == "KIND_CPU"
    assert "dynamic_batching" in cfg
    gcfg = g.get_model_config("cnn", as_json=True)["config"]
    assert gcfg["max_batch_size"] == 64 and gcfg["input"][0]["data_type"] == "TYPE_FP32", gcfg
    bcfg = h.get_model_config("cnn_batched")
    assert bcfg["max_batch_size"] == 8 and bcfg["instance_group"][0]["count"] == 2
    assert bcfg["dynamic_batching"]["max_queue_delay_microseconds"] == 200000
    assert "dynamic_batching" not in h.get_model_config("cnn_small_queue")
    print("health, metadata, config: ok")

    # Inference over HTTP: JSON, binary in and out, with and without version, request id.
    r = h.infer("cnn", [http_input(x, binary=False)], request_id="req-json",
                outputs=[httpclient.InferRequestedOutput("logits", binary_data=False),
                         httpclient.InferRequestedOutput("probabilities", binary_data=False)])
    assert r.get_response()["id"] == "req-json"
    np.testing.assert_allclose(r.as_numpy("logits"), logits, **TOL)
    np.testing.assert_allclose(r.as_numpy("probabilities"), probs, **TOL)
    r = h.infer("cnn", [http_input(x, binary=True)], model_version="1", request_id="req-bin",
                outputs=[httpclient.InferRequestedOutput("probabilities", binary_data=True)])
    assert r.get_response()["id"] == "req-bin" and r.get_response()["model_version"] == "1"
    assert r.as_numpy("logits") is None, "only the requested output comes back"
    np.testing.assert_allclose(r.as_numpy("probabilities"), probs, **TOL)
    r = h.infer("cnn", [http_input(x[:1], binary=True)])  # every output, binary by default
    np.testing.assert_allclose(r.as_numpy("logits"), logits[:1], **TOL)
    # Compressed request and response bodies, both algorithms.
    for req, resp in [("gzip", "deflate"), ("deflate", "gzip")]:
        r = h.infer("cnn", [http_input(x[:3], binary=True)], request_compression_algorithm=req,
                    response_compression_algorithm=resp)
        np.testing.assert_allclose(r.as_numpy("logits"), logits[:3], **TOL)
    # Nested JSON data, the same numbers.
    body = {"id": "nested", "inputs": [{"name": "input", "shape": [2, 1, 28, 28], "datatype": "FP32",
                                        "data": x[:2].tolist()}]}
    status, data = post(a.http, "/v2/models/cnn/infer", json.dumps(body))
    assert status == 200, data
    out = json.loads(data)
    assert out["id"] == "nested"
    got = {o["name"]: np.array(o["data"], dtype=np.float32).reshape(o["shape"]) for o in out["outputs"]}
    np.testing.assert_allclose(got["logits"], logits[:2], **TOL)
    # Another model kind: the MLP.
    mx, mlogits = case(expected, "mlp")
    r = h.infer("mlp", [http_input(mx, binary=False)])
    np.testing.assert_allclose(r.as_numpy("logits"), mlogits, **TOL)
    print("http infer (json, nested, binary, gzip/deflate, versions, ids): ok")

    # gRPC inference: raw contents, version, request id, requested outputs.
    r = g.infer("cnn", [grpc_input(x)], model_version="1", request_id="grpc-1")
    assert r.get_response().id == "grpc-1"
    np.testing.assert_allclose(r.as_numpy("logits"), logits, **TOL)
    np.testing.assert_allclose(r.as_numpy("probabilities"), probs, **TOL)
    r = g.infer("cnn", [grpc_input(x[:2])], outputs=[grpcclient.InferRequestedOutput("probabilities")])
    assert r.as_numpy("logits") is None
    np.testing.assert_allclose(r.as_numpy("probabilities"), probs[:2], **TOL)
    print("grpc infer: ok")

    # BERT: raw text in, sentence embeddings out (when the model is installed).
    if "bert" in expected:
        texts = np.array([t.encode() for t in expected["bert"]["texts"]], dtype=np.object_)
        want = np.array(expected["bert"]["embeddings"], dtype=np.float32)
        for binary in (False, True):
            i = httpclient.InferInput("text", [len(texts)], "BYTES")
            i.set_data_from_numpy(texts, binary_data=binary)
            r = h.infer("minilm", [i])
            np.testing.assert_allclose(r.as_numpy("embeddings"), want, rtol=1e-3, atol=1e-4)
        i = grpcclient.InferInput("text", [len(texts), 1], "BYTES")
        i.set_data_from_numpy(texts.reshape(-1, 1))
        np.testing.assert_allclose(g.infer("minilm", [i]).as_numpy("embeddings"), want, rtol=1e-3, atol=1e-4)
        assert h.get_model_metadata("minilm")["inputs"][0]["datatype"] == "BYTES"
        print("bert text in, embeddings out: ok")

    check_text_classifier(h, g, expected["sentiment"])

    # Dynamic batching: concurrent requests, each with its own rows, answered with its own
    # outputs; the statistics show fewer forward passes than samples.
    async def burst():
        c = aioclient.InferenceServerClient(url=url)
        try:
            rows = list(range(16)) * 2
            results = await asyncio.gather(*[
                c.infer("cnn_batched", [http_input(x[i:i + 1], binary=bool(i % 2))]) for i in rows
            ])
            for i, r in zip(rows, results):
                np.testing.assert_allclose(r.as_numpy("logits"), logits[i:i + 1], **TOL)
            assert await c.is_server_ready() and await c.is_model_ready("cnn_batched")
            meta = await c.get_model_metadata("cnn_batched")
            assert meta["name"] == "cnn_batched"
            cfg = await c.get_model_config("cnn_batched")
            assert cfg["max_batch_size"] == 8
            stats = await c.get_inference_statistics("cnn_batched")
            return stats["model_stats"][0]
        finally:
            await c.close()

    st = asyncio.run(burst())
    assert st["inference_count"] == 32, st
    assert st["execution_count"] < 32, f"requests were merged into batches: {st}"
    assert any(b["batch_size"] > 1 for b in st["batch_stats"]), st
    assert st["inference_stats"]["success"]["count"] == 32
    print(f"dynamic batching: 32 requests in {st['execution_count']} forward passes: ok")

    # A full queue answers 503 (HTTP) / UNAVAILABLE, and the rest are answered correctly.
    async def flood():
        c = aioclient.InferenceServerClient(url=url)
        try:
            return await asyncio.gather(*[c.infer("cnn_small_queue", [http_input(x[:1], binary=True)])
                                          for _ in range(48)], return_exceptions=True)
        finally:
            await c.close()

    for attempt in range(5):
        results = asyncio.run(flood())
        rejected = [r for r in results if isinstance(r, InferenceServerException)]
        for r in results:
            if isinstance(r, InferenceServerException):
                assert r.status() == "503" and "queue is full" in r.message(), r
            else:
                np.testing.assert_allclose(r.as_numpy("logits"), logits[:1], **TOL)
        if rejected:
            break
    assert rejected, "48 requests at once overflow a queue of 1"
    print(f"full queue: {len(rejected)} of 48 refused with 503: ok")

    # Negative cases, HTTP then gRPC.
    expect_error(lambda: h.infer("nope", [http_input(x, True)]), "404", "unknown model")
    expect_error(lambda: h.infer("cnn", [http_input(x, True)], model_version="7"), "404", "version 7")
    expect_error(lambda: h.get_model_metadata("nope"), "404")
    expect_error(lambda: h.infer("cnn", [http_input(x[:, :, :27], True)]), "400", "shape")
    expect_error(lambda: h.infer("cnn", [http_input(x.astype(np.float64), True)]), "400", "datatype FP64")
    expect_error(lambda: h.infer("cnn", [http_input(x, True, name="image")]), "400", "no input 'image'")
    expect_error(lambda: h.infer("cnn", [http_input(x, True)], outputs=[httpclient.InferRequestedOutput("nope")]),
                 "400", "no output 'nope'")
    expect_error(lambda: h.infer("cnn", [http_input(np.zeros((65, 1, 28, 28), np.float32), True)]), "400",
                 "max_batch_size")
    status, data = post(a.http, "/v2/models/cnn/infer", b"{not json")
    assert status == 400 and "not valid JSON" in json.loads(data)["error"], data
    header = json.dumps({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32",
                                     "parameters": {"binary_data_size": 3136}}]}).encode()
    status, data = post(a.http, "/v2/models/cnn/infer", header + b"\0" * 100,
                        {"Inference-Header-Content-Length": str(len(header))})
    assert status == 400 and "binary_data_size 3136" in json.loads(data)["error"], data
    status, data = post(a.http, "/v2/models/cnn/infer", header, {"Inference-Header-Content-Length": "99999"})
    assert status == 400 and "Inference-Header-Content-Length" in json.loads(data)["error"], data
    status, data = post(a.http, "/v2/models/cnn/infer", b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"})
    assert status == 400 and "decompress" in json.loads(data)["error"], data

    def grpc_error(fn, code, words=""):
        try:
            fn()
        except InferenceServerException as e:
            assert e.status() == f"StatusCode.{code}", f"expected {code}, got {e.status()}: {e.message()}"
            assert words.lower() in e.message().lower(), e.message()
            return
        raise AssertionError(f"expected {code}")

    grpc_error(lambda: g.infer("nope", [grpc_input(x)]), "NOT_FOUND", "unknown model")
    grpc_error(lambda: g.infer("cnn", [grpc_input(x)], model_version="7"), "NOT_FOUND")
    grpc_error(lambda: g.infer("cnn", [grpc_input(x[:, :, :27])]), "INVALID_ARGUMENT", "shape")
    grpc_error(lambda: g.infer("cnn", [grpc_input(x.astype(np.float64))]), "INVALID_ARGUMENT", "datatype")
    grpc_error(lambda: g.get_model_metadata("nope"), "NOT_FOUND")
    grpc_error(lambda: g.get_model_config("nope"), "NOT_FOUND")
    print("negative cases: ok")

    # Statistics, both protocols, and the metrics counters moving.
    _, before = scrape(a.metrics)
    key = 'ferrolab_inference_request_success{model="cnn",version="1"}'
    bad = 'ferrolab_inference_request_failure{model="cnn",version="1",reason="BAD_REQUEST"}'
    for _ in range(3):
        h.infer("cnn", [http_input(x[:2], True)])
    expect_error(lambda: h.infer("cnn", [http_input(x[:, :, :27], True)]), "400")
    text, after = scrape(a.metrics)
    assert after[key] == before[key] + 3, (before[key], after[key])
    assert after[bad] == before[bad] + 1, (before[bad], after[bad])
    ic = 'ferrolab_inference_count{model="cnn",version="1"}'
    assert after[ic] == before[ic] + 6
    assert "# TYPE ferrolab_inference_pending_request_count gauge" in text
    assert after['ferrolab_inference_queue_duration_us{model="cnn",version="1"}'] > 0
    st = h.get_inference_statistics("cnn")["model_stats"][0]
    assert st["name"] == "cnn" and st["version"] == "1" and st["inference_stats"]["fail"]["count"] >= 1
    gst = g.get_inference_statistics("cnn", as_json=True)["model_stats"][0]
    assert int(gst["inference_count"]) == st["inference_count"], (gst, st)
    names = {s["name"] for s in h.get_inference_statistics()["model_stats"]}
    assert {"cnn", "cnn_batched", "mlp"} <= names, names
    print("statistics and metrics: ok")

    # Repository: index, unload (503 after), load again, through both protocols.
    index = {m["name"]: m for m in h.get_model_repository_index()}
    assert index["cnn"]["state"] == "READY" and index["cnn"]["version"] == "1", index
    h.unload_model("mlp")
    assert not h.is_model_ready("mlp")
    expect_error(lambda: h.infer("mlp", [http_input(mx, True)]), "503", "unloaded")
    assert {m["name"]: m for m in h.get_model_repository_index()}["mlp"]["state"] == "UNAVAILABLE"
    h.load_model("mlp")
    np.testing.assert_allclose(h.infer("mlp", [http_input(mx, True)]).as_numpy("logits"), mlogits, **TOL)
    g.unload_model("mlp")
    assert not g.is_model_ready("mlp")
    g.load_model("mlp")
    assert g.is_model_ready("mlp")
    gi = {m["name"]: m for m in g.get_model_repository_index(as_json=True)["models"]}
    assert gi["mlp"]["state"] == "READY", gi
    expect_error(lambda: h.load_model("nope"), "400", "no folder")
    expect_error(lambda: h.load_model("..%2F.."), "400")
    print("repository index/load/unload: ok")

    # The access log saw requests.
    h.close()
    g.close()
    print("features: all ok")


# ---------------------------------------------------------------- load helpers


class Load:
    """Threads sending inferences until stopped; each answer is checked against `accept`."""

    def __init__(self, a, x, accept, threads=4, protocol="http"):
        self.a, self.x, self.accept = a, x, accept
        self.ok = 0
        self.failures = []
        self.unreachable = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i, protocol), daemon=True) for i in range(threads)]

    def run(self, i, protocol):
        if protocol == "grpc":
            c = grpcclient.InferenceServerClient(url=f"127.0.0.1:{self.a.grpc}")
        else:
            c = httpclient.InferenceServerClient(url=f"127.0.0.1:{self.a.http}")
        while not self.stop.is_set():
            try:
                if protocol == "grpc":
                    r = c.infer("cnn", [grpc_input(self.x)])
                else:
                    r = c.infer("cnn", [http_input(self.x, True)])
                out = r.as_numpy("logits")
                verdict = self.accept(out)
                with self.lock:
                    if verdict:
                        self.ok += 1
                    else:
                        self.failures.append("wrong output")
            except InferenceServerException as e:
                with self.lock:
                    self.failures.append(f"{e.status()}: {e.message()}")
            except Exception as e:  # connection refused/reset: never accepted
                with self.lock:
                    self.unreachable += 1
                if self.stop.is_set():
                    break
                time.sleep(0.01)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)

    def wait_for(self, n):
        while self.ok < n and not self.failures:
            time.sleep(0.01)


def reload(a, expected):
    x, v1 = case(expected, "v1")
    _, v2 = case(expected, "v2")
    matches = lambda want: (lambda out: out is not None and np.allclose(out, want, **TOL))
    h = httpclient.InferenceServerClient(url=f"127.0.0.1:{a.http}")
    with Load(a, x, lambda out: matches(v1)(out) or matches(v2)(out), threads=3) as load, \
            Load(a, x, lambda out: matches(v1)(out) or matches(v2)(out), threads=1, protocol="grpc") as gload:
        load.wait_for(50)
        shutil.move(os.path.join(a.dir, "staging", "cnn", "2"), os.path.join(a.dir, "models", "cnn", "2"))
        h.load_model("cnn")
        assert h.get_model_metadata("cnn")["versions"] == ["2"]
        seen = load.ok
        load.wait_for(seen + 50)
    h2 = h.infer("cnn", [http_input(x, True)])
    np.testing.assert_allclose(h2.as_numpy("logits"), v2, **TOL)
    expect_error(lambda: h.infer("cnn", [http_input(x, True)], model_version="1"), "404")
    failures = load.failures + gload.failures
    assert not failures, failures[:5]
    assert load.unreachable == 0 and gload.unreachable == 0
    print(f"reload under load: {load.ok + gload.ok} requests, 0 failed, now serving version 2: ok")


def sigterm(a, expected):
    x, logits = case(expected, "cnn")
    ok = lambda out: out is not None and np.allclose(out, logits, **TOL)
    with Load(a, x, ok, threads=4) as load:
        load.wait_for(100)
        os.kill(a.pid, signal.SIGTERM)
        # The server exits once it has answered what it accepted.
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                os.kill(a.pid, 0)
                with open(f"/proc/{a.pid}/status") as f:
                    if "State:\tZ" in f.read():
                        break
            except (ProcessLookupError, FileNotFoundError):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the server did not exit within 60 s of SIGTERM")
    bad = [f for f in load.failures if not f.startswith("503")]
    assert not bad, bad[:5]
    assert load.ok >= 100
    print(f"sigterm under load: {load.ok} answered correctly, {len(load.failures)} refused as not ready, "
          f"{load.unreachable} not accepted (connection closed): ok")


# ---------------------------------------------------------------- barrage


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def bad_http_requests(rng):
    """(path, body, headers) of malformed inference requests, one kind after another."""
    good = {"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32"}
    kinds = [
        lambda: (b"{" * rng.randint(1, 50), {}),
        lambda: (bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200))), {}),
        lambda: (json.dumps({"inputs": [dict(good, data=[0.0] * rng.randint(0, 900))]}).encode(), {}),
        lambda: (json.dumps({"inputs": [dict(good, shape=[rng.randint(-3, 3), 28], data=[1.0])]}).encode(), {}),
        lambda: (json.dumps({"inputs": [dict(good, datatype=rng.choice(["INT8", "BYTES", "FOO", ""]),
                                             data=["a"])]}).encode(), {}),
        lambda: (json.dumps({"inputs": "no"}).encode(), {}),
        lambda: (json.dumps([1, 2, 3]).encode(), {}),
        lambda: (json.dumps({"inputs": [dict(good, data=[[["x"]]])]}).encode(), {}),
        lambda: (json.dumps({"inputs": [dict(good, shape=[2 ** 40, 2 ** 40], data=[1])]}).encode(), {}),
        # Lying binary lengths.
        lambda: (lambda head: (head + b"\0" * rng.randint(0, 3000),
                               {"Inference-Header-Content-Length": str(len(head))}))(
            json.dumps({"inputs": [dict(good, parameters={"binary_data_size": rng.randint(0, 10 ** 9)})]}).encode()),
        lambda: (b"{}", {"Inference-Header-Content-Length": str(rng.choice([-1, 10 ** 12, 3]))}),
        lambda: (b"{}", {"Inference-Header-Content-Length": "abc"}),
        lambda: (bytes(rng.getrandbits(8) for _ in range(64)), {"Content-Encoding": rng.choice(["gzip", "deflate"])}),
        lambda: (gzip.compress(b"{" * 100), {"Content-Encoding": "gzip"}),
        lambda: (zlib.compress(b"[]"), {"Content-Encoding": "deflate"}),
        lambda: (b"{}", {"Content-Encoding": "br"}),
    ]
    paths = ["/v2/models/cnn/infer", "/v2/models/cnn/versions/1/infer", "/v2/models/nope/infer",
             "/v2/models/cnn/versions/x/infer"]
    while True:
        body, headers = rng.choice(kinds)()
        yield rng.choice(paths), body, headers


def barrage(a, expected):
    x, logits = case(expected, "cnn")
    h = httpclient.InferenceServerClient(url=f"127.0.0.1:{a.http}")
    g = grpcclient.InferenceServerClient(url=f"127.0.0.1:{a.grpc}")
    rng = random.Random(13)
    gen = bad_http_requests(rng)

    def check_still_right():
        np.testing.assert_allclose(h.infer("cnn", [http_input(x, True)]).as_numpy("logits"), logits, **TOL)
        np.testing.assert_allclose(g.infer("cnn", [grpc_input(x)]).as_numpy("logits"), logits, **TOL)

    def send_http(n):
        conn = http.client.HTTPConnection("127.0.0.1", a.http, timeout=30)
        statuses = {}
        for _ in range(n):
            path, body, headers = next(gen)
            try:
                conn.request("POST", path, body=body, headers=headers)
                r = conn.getresponse()
                r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
                assert r.status in (400, 404, 413, 503), (r.status, path, body[:80], headers)
            except (ConnectionError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", a.http, timeout=30)
        conn.close()
        return statuses

    # Warm up, then measure.
    check_still_right()
    send_http(500)
    check_still_right()
    base = rss_kib(a.pid)

    statuses = send_http(9_440)  # with the 500 above, 50 raw, 5 huge and 5 bombs: 10,000
    # Raw sockets: bodies shorter than their Content-Length, garbage request lines.
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", a.http), timeout=10)
        if i % 2:
            s.sendall(b"POST /v2/models/cnn/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"inputs\"")
        else:
            s.sendall(bytes(rng.getrandbits(8) for _ in range(300)) + b"\r\n\r\n")
        s.close()
    # Huge bodies: over the limit, refused without being kept.
    huge = b"[" * (70 << 20)
    for i in range(5):
        try:
            status, _ = post(a.http, "/v2/models/cnn/infer", huge)
            assert status in (400, 413), status
        except (ConnectionError, http.client.HTTPException):
            pass
    # A gzip bomb: a small body that inflates past the limit.
    bomb = gzip.compress(b"\0" * (80 << 20))
    for i in range(5):
        status, data = post(a.http, "/v2/models/cnn/infer", bomb, {"Content-Encoding": "gzip"})
        assert status == 400, (status, data[:200])
    check_still_right()
    print(f"http: 10,000 malformed requests; 9,440 of them answered {statuses}, the rest raw, huge or bombs")

    # gRPC: undecodable messages and well-formed ones with bad contents.
    channel = grpc.insecure_channel(f"127.0.0.1:{a.grpc}")
    raw = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    codes = {}
    from tritonclient.grpc import service_pb2
    for i in range(5_000):
        kind = i % 5
        if kind == 0:
            msg = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
        else:
            req = service_pb2.ModelInferRequest(model_name=rng.choice(["cnn", "nope", ""]))
            t = req.inputs.add(name="input", datatype=rng.choice(["FP32", "INT8", "BYTES"]))
            t.shape.extend([rng.randint(-2, 3), 1, 28, rng.choice([28, 27])])
            if kind == 1:
                req.raw_input_contents.append(b"\0" * rng.randint(0, 5000))
            elif kind == 2:
                req.raw_input_contents.extend([b"a", b"b"])
            elif kind == 3:
                t.contents.fp32_contents.extend([1.0] * rng.randint(0, 50))
            msg = req.SerializeToString()
        try:
            raw(msg, timeout=10)
            codes["OK"] = codes.get("OK", 0) + 1
        except grpc.RpcError as e:
            codes[e.code().name] = codes.get(e.code().name, 0) + 1
    assert "OK" not in codes and "UNKNOWN" not in codes, codes
    channel.close()
    check_still_right()
    print(f"grpc: 5,000 malformed messages answered {codes}")

    after = rss_kib(a.pid)
    print(f"memory: {base} KiB after warm-up, {after} KiB after the barrage")
    assert after < base * 1.5 + 64 * 1024, f"memory grew from {base} to {after} KiB"
    assert h.is_server_ready() and g.is_server_ready()
    print("barrage: ok")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["features", "reload", "sigterm", "barrage"])
    for name in ("http", "grpc", "metrics", "pid"):
        p.add_argument(f"--{name}", type=int, required=True)
    p.add_argument("--dir", required=True)
    a = p.parse_args()
    with open(os.path.join(a.dir, "expected.json")) as f:
        expected = json.load(f)
    {"features": features, "reload": reload, "sigterm": sigterm, "barrage": barrage}[a.mode](a, expected)


if __name__ == "__main__":
    main()
