#!/usr/bin/env python3
"""The four models of `ferrolab bench` in PyTorch on the CPU, timed in the same run as ours.

Same shapes, same step (forward, cross-entropy, backward, Adam), same thread count
(`torch.set_num_threads` = `ferrolab bench --threads`). The two are interleaved round by round
(ours, PyTorch, ours, PyTorch, ...) so that load from other users of the machine hits both
alike; each side's per-round medians are combined into a median, and the table prints the
ratio ours / PyTorch (below 1 means ferrolab is faster).

Usage:  python benches/pytorch_bench.py [--threads 1] [--rounds 3] [--binary target/release/ferrolab]
Needs:  pip install torch numpy   (skips with a message when torch is missing)
Limits: wall-clock medians on a shared machine; compare only ratios from one run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

MODELS = ["cnn", "rnn", "lstm", "transformer"]


def build_models(torch):
    nn = torch.nn

    class Cnn(nn.Module):
        """The book's CNN: conv32-pool-conv64-pool-flatten-dense10 on 1x28x28."""

        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3)
            self.fc = nn.Linear(64 * 5 * 5, 10)

        def forward(self, x):
            x = torch.max_pool2d(torch.relu(self.c1(x)), 2)  # (B,1,28,28) -> (B,32,13,13)
            x = torch.max_pool2d(torch.relu(self.c2(x)), 2)  # -> (B,64,5,5)
            return self.fc(x.flatten(1))  # -> (B,10)

    class Rnn(nn.Module):
        """tanh RNN 10 -> 64 over the steps, last state -> dense 10."""

        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.RNN(10, 64, batch_first=True), nn.Linear(64, 10)

        def forward(self, x):
            _, h = self.rnn(x)  # h: (1, B, 64)
            return self.fc(h[0])

    class Lstm(nn.Module):
        """The book's stacked LSTM: LSTM 64 (sequences) -> LSTM 64 -> dense 10."""

        def __init__(self):
            super().__init__()
            self.l1 = nn.LSTM(10, 64, batch_first=True)
            self.l2 = nn.LSTM(64, 64, batch_first=True)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            x, _ = self.l1(x)  # (B,100,64)
            _, (h, _) = self.l2(x)  # h: (1,B,64)
            return self.fc(h[0])

    class Transformer(nn.Module):
        """2 post-norm encoder layers (d 64, 4 heads, ff 256, ReLU, no dropout), mean over steps, dense 10."""

        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(64, 4, 256, dropout=0.0, activation="relu", batch_first=True)
            self.enc = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(self.enc(x).mean(dim=1))

    return {
        "cnn": (Cnn, (64, 1, 28, 28)),
        "rnn": (Rnn, (64, 100, 10)),
        "lstm": (Lstm, (64, 100, 10)),
        "transformer": (Transformer, (32, 64, 64)),
    }


def time_torch(torch, name, warmup, steps):
    model_cls, shape = build_models(torch)[name]
    torch.manual_seed(0)
    model = model_cls()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(*shape)
    y = torch.tensor([(i * 7 + 3) % 10 for i in range(shape[0])])
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for i in range(warmup + steps):
        start = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def time_ours(binary, name, threads, warmup, steps):
    cmd = [binary, "bench", name, "--json", "--threads", str(threads), "--warmup", str(warmup), "--steps", str(steps)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])[name]


def find_binary(given):
    if given:
        return given
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
    path = os.path.join(target, "release", "ferrolab")
    if os.path.exists(path):
        return path
    return shutil.which("ferrolab")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per model")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--binary", help="the ferrolab binary (default: $CARGO_TARGET_DIR/release/ferrolab)")
    ap.add_argument("models", nargs="*", help=f"any of {', '.join(MODELS)} (default: all)")
    args = ap.parse_args()
    args.models = args.models or MODELS
    unknown = [m for m in args.models if m not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {unknown}; choose from {MODELS}")

    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # CPU only, and no CUDA driver warnings
    try:
        import torch
    except ImportError:
        print("pytorch_bench: torch is not installed (pip install torch numpy); nothing to compare.")
        return 0
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    binary = find_binary(args.binary)
    if not binary:
        print("pytorch_bench: no ferrolab binary; build it with `cargo build --release -p ferrolab-kernel`.")
        return 1

    print(f"torch {torch.__version__}, {args.threads} thread(s) each; {args.rounds} interleaved rounds of {args.steps} steps")
    print(f"{'model':<12} {'ferrolab ms':>12} {'pytorch ms':>11} {'ours/pytorch':>13}")
    result = {}
    for name in args.models:
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(time_ours(binary, name, args.threads, args.warmup, args.steps))
            theirs.append(time_torch(torch, name, args.warmup, args.steps))
        o, t = statistics.median(ours), statistics.median(theirs)
        # Ratio of each round's pair, then the median: pairs share the machine's load of the moment.
        ratio = statistics.median(a / b for a, b in zip(ours, theirs))
        result[name] = {"ours_ms": round(o, 3), "pytorch_ms": round(t, 3), "ratio": round(ratio, 3)}
        print(f"{name:<12} {o:>12.2f} {t:>11.2f} {ratio:>12.2f}x")
    print(json.dumps({"threads": args.threads, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
