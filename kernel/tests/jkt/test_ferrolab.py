"""jupyter_kernel_test suite for the ferrolab kernel with its mock engine.

Run through `cargo test -p ferrolab-kernel --test jupyter_kernel_test` (kernel/tests/
jupyter_kernel_test.rs builds the binary, writes a temporary kernelspec and runs this
module in the project's test venv). Every attribute is set, the pager
included (`?print` pages the mock's docs for `print`).
"""

import unittest

import jupyter_kernel_test


class FerrolabKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "ferrolab-test"
    language_name = "rust"
    file_extension = ".rs"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'eprint("oops")'

    completion_samples = [
        {"text": "pri", "matches": {"print"}},
        {"text": ":ver", "matches": {":version"}},
    ]

    complete_code_samples = ["1 + 1", "fn f() { let s = \"}\"; }", ":help"]
    incomplete_code_samples = ["fn f() {", "let s = r#\"open", "/* comment"]
    invalid_code_samples = ["(]", "}"]

    code_generate_error = 'panic("boom")'

    code_execute_result = [
        {"code": "1+1", "result": "2"},
        {"code": "6*7", "result": "42"},
        {"code": "(10 - 4) / 3", "result": "2"},
    ]

    code_display_data = [
        {"code": ":display hello", "mime": "text/plain"},
        {"code": ":display #d <b>hi</b>", "mime": "text/html"},
    ]

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6?7"

    code_inspect_sample = "print"

    code_page_something = "?print"

    code_clear_output = ":clear"


if __name__ == "__main__":
    unittest.main()
