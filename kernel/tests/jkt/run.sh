#!/usr/bin/env bash
# Runs jupyter_kernel_test against the debug ferrolab binary.
# ENGINE=mock (default) runs test_ferrolab.py over the mock engine (seconds);
# ENGINE=evcxr runs test_ferrolab_rust.py over the real engine, after
# `ferrolab warmup` (a cold library build takes minutes; warm, about a minute).
# Needs a Python environment with jupyter-kernel-test (0.7) and jupyter_client;
# set PYTHON to its interpreter (default: /tmp/venv-proto/bin/python).
# The kernelspec and the history file live in a temporary dir, so nothing in
# the user's Jupyter or data dirs is touched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../../.."
python="${PYTHON:-/tmp/venv-proto/bin/python}"
engine="${ENGINE:-mock}"
target="${CARGO_TARGET_DIR:-$root/target}"
cargo build -j 1 -p ferrolab-kernel --manifest-path "$root/Cargo.toml" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/kernels/ferrolab-test"
case "$engine" in
  mock) module=test_ferrolab ;;
  evcxr) module=test_ferrolab_rust; "$target/debug/ferrolab" warmup >&2 ;;
  *) echo "ENGINE must be mock or evcxr" >&2; exit 2 ;;
esac
cat > "$tmp/kernels/ferrolab-test/kernel.json" <<JSON
{
  "argv": ["$target/debug/ferrolab", "kernel", "-f", "{connection_file}"],
  "display_name": "ferrolab ($engine engine, test)",
  "language": "rust",
  "interrupt_mode": "message",
  "env": {"FERROLAB_ENGINE": "$engine"}
}
JSON
cd "$here"
JUPYTER_PATH="$tmp" FERROLAB_HISTORY_FILE="$tmp/history.jsonl" "$python" -m unittest -v "$module" "$@"
