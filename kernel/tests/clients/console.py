"""`jupyter console` (its full prompt_toolkit interface) on the ferrolab kernel, typed into
through a pseudo-terminal as a person would, with pexpect (installed with IPython).

Prints one JSON object: what each step saw (`true` when it saw what it should). The
kernelspec `ferrolab-test` comes from JUPYTER_PATH. The screen carries colour escapes, so
the patterns allow them between the characters that matter.
"""

import json
import os
import re
import sys

import pexpect

CELL = 180  # seconds: each cell compiles
# The first cell loads the library: where the test kernels' build slots are older than the
# library, that is a build waiting its turn beside the other client tests' kernels (198 s
# seen in CI on 2 cores).
FIRST_CELL = 600
ESC = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"  # any run of CSI escapes


def loose(text):
    """A pattern for `text` with escape sequences allowed between its characters."""
    return ESC.join(re.escape(c) for c in text)


def prompt(n):
    return loose(f"In [{n}]")


def main():
    env = dict(os.environ, TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1")
    console = pexpect.spawn(
        sys.executable,
        # kernel_timeout: its 60 s default can run out while a loaded machine builds the
        # library for the first cell.
        ["-m", "jupyter_console", "--kernel", "ferrolab-test", f"--ZMQTerminalInteractiveShell.kernel_timeout={CELL}"],
        env=env,
        encoding="utf-8",
        timeout=CELL,
        dimensions=(40, 200),
    )
    console.logfile_read = sys.stderr
    seen = {}

    def step(name, send, expect, timeout=CELL):
        """Types `send` (Enter after each line), then waits for `expect`; records the result."""
        for line in send:
            console.send(line + "\r")
        try:
            console.expect(expect, timeout=timeout)
            seen[name] = True
        except pexpect.TIMEOUT:
            seen[name] = False
        return console.before

    console.expect(prompt(1))
    step("value", ["6 * 7"], loose("Out[1]:") + r"\s*" + ESC + "42", timeout=FIRST_CELL)
    console.expect(prompt(2))
    # Enter after an open brace continues the cell (the kernel's is_complete says
    # incomplete); Enter after the closing brace runs it.
    step("continues", ["fn double(x: i32) -> i32 {"], loose("...:"))
    step("fn defined", ["    x * 2", "}"], prompt(3))
    step("fn called", ["double(21)"], loose("Out[3]:") + r"\s*" + ESC + "42")
    console.expect(prompt(4))
    step("compile error", ['let bad: i32 = "text";'], "mismatched types")
    console.expect(prompt(5))
    step(
        "model built",
        ["let dev = Cpu::seed_from_u64(0); let data = ferrolab::data::digits(); "
         "let mut mlp = Mlp::<f32, Cpu>::new(&dev, 64, 32, 10);"],
        prompt(6),
    )
    # Ctrl-C while a model trains: jupyter console asks the kernel to interrupt, `fit`
    # stops at the next batch and the model is kept.
    step("training", ["mlp.fit(&data, &FitConfig::default().epochs(100_000).verbose(Verbose::Lines)).unwrap().epochs()"], r"epoch\s+3")
    console.sendcontrol("c")
    step("interrupted", [], "interrupted in epoch")
    console.expect(prompt(7))
    step("model kept", ["mlp.evaluate(&data, 256).unwrap().accuracy > 0.5"], "true")
    # Ctrl-D only once the next prompt is drawn: sent earlier, prompt_toolkit drops it and
    # the "y" below would be typed into a cell.
    console.expect(prompt(8))
    console.sendcontrol("d")
    console.expect([r"\(\[y\]/n\)", pexpect.EOF, pexpect.TIMEOUT], timeout=20)
    console.send("y\r")
    seen["exit"] = console.expect(["Shutting down kernel", pexpect.EOF, pexpect.TIMEOUT], timeout=60) == 0
    console.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=60)
    console.close(force=True)
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
