"""Sentence embeddings per second of all-MiniLM-L6-v2 with `transformers` on PyTorch (CPU), the
side of the benchmark that tests/pretrained_speed.rs measures for ferrolab: sequence 128 (the
same long text cut to 128 tokens), mean pooling over the attention mask, L2 normalisation, at
batch 1 and 32; prints sentences/s and the peak resident memory.

    VENV/bin/python benches/bert_embed_torch.py MODEL_DIR THREADS
"""

import resource
import sys
import time

import torch
from transformers import AutoModel, AutoTokenizer


def main():
    path, threads = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(threads)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    text = "The quick brown fox jumps over the lazy dog near the river bank. " * 20
    for batch in (1, 32):
        enc = tok([text] * batch, padding=True, truncation=True, max_length=128, return_tensors="pt")
        assert enc["input_ids"].shape[1] == 128

        def run():
            with torch.inference_mode():
                h = model(**enc).last_hidden_state
                m = enc["attention_mask"].unsqueeze(-1).float()
                e = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(e, dim=1)

        run()  # warm-up
        runs = 40 if batch == 1 else 4
        start, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            run()
        secs = time.perf_counter() - start
        cpu = time.process_time() - cpu
        n = runs * batch
        print(f"torch batch {batch}: {n / secs:.1f} sentences/s, {n / cpu:.1f} per CPU second")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch peak memory: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
