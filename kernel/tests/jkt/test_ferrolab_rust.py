"""jupyter_kernel_test suite for the ferrolab kernel with its real (evcxr) engine.

Run through `cargo test -p ferrolab-kernel --test jupyter_kernel_test` (it writes a
temporary kernelspec and runs this module in the project's test venv). Every attribute is set with
Rust samples, the pager included (`?Cnn` pages the library's docs for the book's CNN). The first cell
runs in setUpClass with a long timeout, since the suite's own limit is 15 s a cell
and the engine starts in the background.
"""

import unittest

import jupyter_kernel_test


class FerrolabRustKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "ferrolab-test"
    language_name = "rust"
    file_extension = ".rs"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        reply = cls.kc.execute_interactive("1+1", timeout=900, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok", reply["content"]

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("oops");'

    completion_samples = [
        {"text": ":ti", "matches": {":timing"}},
        {"text": "String::wi"},
    ]

    complete_code_samples = ["1 + 1", 'fn f() { let s = "}"; }', ":help"]
    incomplete_code_samples = ["fn f() {", 'let s = r#"open', "/* comment"]
    invalid_code_samples = ["(]", "}"]

    code_generate_error = 'let x: i32 = "not a number";'

    code_execute_result = [
        {"code": "1+1", "result": "2"},
        {"code": "6*7", "result": "42"},
        {"code": '"hi".len()', "result": "2"},
    ]

    code_display_data = [
        {
            "code": 'ferrolab::display::display(&ferrolab::display::Html("<b>hi</b>".into()));',
            "mime": "text/html",
        },
        {
            "code": 'ferrolab::display::display(&ferrolab::display::MimeBundle::new().with("text/plain", "hi"));',
            "mime": "text/plain",
        },
    ]

    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6?7"

    code_inspect_sample = "Vec"

    code_page_something = "?Cnn"

    code_clear_output = ":clear_output"


if __name__ == "__main__":
    unittest.main()
