//! Panics as a learner reads them: the message, the cell line it came from, and only the
//! frames of the learner's code and the library.
//!
//! The runtime catches a cell's panic and evcxr reports success, so the engine installs
//! its own panic hook in the runtime ([`HOOK`], run as a cell after every runtime start).
//! The hook prints one [`MARKER`] line on stdout, in order with the cell's output: the
//! panic is known from that line, never from the text on stderr, and std's own report
//! (25 lines of runtime frames) is not printed. Lines in evcxr's generated crate are mapped
//! back to the cell by finding the cell's own lines there (evcxr copies them verbatim).

use super::Event;
use serde::Deserialize;

/// Starts the hook's line on the runtime's stdout; a JSON [`Panic`] follows.
pub const MARKER: &str = "FERROLAB_PANIC ";

/// The cell that installs the hook. `ferrolab::stack_trace` renders the frames (std's own
/// backtrace cannot name cells loaded after its first one); the hook escapes them into one
/// JSON line itself.
pub const HOOK: &str = r#"std::panic::set_hook(Box::new(|info| {
    fn esc(s: &str) -> String {
        let mut out = String::with_capacity(s.len() + 2);
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out
    }
    let payload = info.payload();
    let message = payload.downcast_ref::<&str>().map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "Box<dyn Any>".to_string());
    let (file, line, column) = info.location()
        .map(|l| (l.file().to_string(), l.line(), l.column()))
        .unwrap_or_default();
    let thread = std::thread::current().name().unwrap_or("").to_string();
    let backtrace = ferrolab::stack_trace::capture();
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "FERROLAB_PANIC {{\"message\":\"{}\",\"file\":\"{}\",\"line\":{},\"column\":{},\"thread\":\"{}\",\"backtrace\":\"{}\"}}",
        esc(&message), esc(&file), line, column, esc(&thread), esc(&backtrace));
    let _ = out.flush();
}));"#;

/// What the hook reports.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Panic {
    pub message: String,
    pub file: String,
    pub line: u32,
    pub column: u32,
    pub thread: String,
    pub backtrace: String,
}

impl Panic {
    pub fn parse(line: &str) -> Option<Panic> {
        serde_json::from_str(line.strip_prefix(MARKER)?).ok()
    }
}

/// One frame of std's rendered backtrace: the function and, when known, `file:line:col`.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// Splits std's `Backtrace` text (`  N: function` then `at file:line:col`) into frames.
pub fn frames(backtrace: &str) -> Vec<Frame> {
    let mut frames: Vec<Frame> = Vec::new();
    for line in backtrace.lines() {
        let trimmed = line.trim();
        if let Some(at) = trimmed.strip_prefix("at ") {
            if let Some(frame) = frames.last_mut() {
                let mut parts = at.rsplitn(3, ':');
                let _column = parts.next();
                let line = parts.next().and_then(|l| l.parse().ok());
                frame.file = parts.next().map(str::to_string);
                frame.line = line;
            }
        } else if let Some((index, function)) = trimmed.split_once(": ") {
            if index.chars().all(|c| c.is_ascii_digit()) {
                frames.push(Frame {
                    function: function.to_string(),
                    file: None,
                    line: None,
                });
            }
        }
    }
    frames
}

/// The frames of one the runtime could only place in its object file (`<unknown> @
/// /…/libcode_6.so+0x1a2b`, see `ferrolab::stack_trace`), from that file's line tables:
/// one per function inlined at that address, innermost first, as std lists them. Any
/// other frame, or one whose file cannot be read, comes back as it was.
fn place_loaded_frame(frame: Frame) -> Vec<Frame> {
    let placed = (|| {
        let (object, address) = frame.function.strip_prefix("<unknown> @ ")?.rsplit_once("+0x")?;
        let address = u64::from_str_radix(address, 16).ok()?;
        let loader = addr2line::Loader::new(object).ok()?;
        let mut inlined = loader.find_frames(address).ok()?;
        let mut frames = Vec::new();
        while let Ok(Some(f)) = inlined.next() {
            let function = f.function.as_ref().and_then(|n| n.demangle().ok());
            frames.push(Frame {
                function: function.map_or_else(|| "<unknown>".to_string(), |n| n.into_owned()),
                file: f.location.as_ref().and_then(|l| l.file).map(str::to_string),
                line: f.location.as_ref().and_then(|l| l.line),
            });
        }
        (!frames.is_empty()).then_some(frames)
    })();
    placed.unwrap_or_else(|| vec![frame])
}

/// Where the cell's code sits in evcxr's generated crate, to map its lines back.
pub struct CellSource<'a> {
    /// The code evcxr ran (the part of the cell after any native command lines).
    pub code: &'a str,
    /// How many lines of the cell came before `code`.
    pub line_offset: usize,
    /// evcxr's generated `src/lib.rs` for this cell.
    pub generated: &'a str,
    /// Where that file is: backtrace frames name it by its full path.
    pub generated_path: &'a std::path::Path,
}

impl CellSource<'_> {
    /// The cell line (1-based) that generated line `line` is a copy of, if any.
    ///
    /// The k-th copy of a text inside the cell's function is the k-th line of the cell with
    /// that text: evcxr keeps statement order. Lines outside that function (items such as
    /// `fn`s) are mapped when their text occurs once in the cell.
    pub fn cell_line(&self, line: u32) -> Option<usize> {
        let generated: Vec<&str> = self.generated.lines().collect();
        let text = generated.get((line as usize).checked_sub(1)?)?.trim_end();
        if text.trim().is_empty() {
            return None;
        }
        let cell: Vec<(usize, &str)> = self
            .code
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_end() == text)
            .collect();
        let body = generated
            .iter()
            .rposition(|l| l.starts_with("pub extern \"C\" fn run_user_code_"))
            .unwrap_or(0);
        let index = line as usize - 1;
        let nth = if index > body {
            generated[body..index]
                .iter()
                .filter(|l| l.trim_end() == text)
                .count()
        } else if cell.len() == 1 {
            0
        } else {
            return None;
        };
        cell.get(nth).map(|(i, _)| i + 1 + self.line_offset)
    }

    /// Whether a place is in the generated crate: cargo builds it from its own folder, so
    /// rustc names its source relatively (panic locations), and its line tables by the full
    /// path (backtrace frames).
    fn is_cell_file(&self, file: &str) -> bool {
        file == "src/lib.rs" || std::path::Path::new(file) == self.generated_path
    }
}

/// The error a learner sees for `panic`: `message`, the cell line, the frames that matter.
///
/// The cell crate has line tables (see `setup::CELL_PROFILE`); the library and dfdx have
/// none, to keep cells fast to build. So a panic raised in the cell has its line from std's
/// panic location, and one raised inside the library has it from the innermost cell frame
/// of the backtrace: the line that called into the library.
pub fn error_event(panic: &Panic, cell: &CellSource, library: &std::path::Path) -> Event {
    let library = library.to_string_lossy();
    let frames: Vec<Frame> = frames(&panic.backtrace)
        .into_iter()
        .flat_map(place_loaded_frame)
        .collect();
    // The frames above the unwinder's entry are the hook and std's panic machinery.
    let start = frames
        .iter()
        .position(|f| f.function.contains("rust_begin_unwind"))
        .map_or(0, |i| i + 1);
    let frames = &frames[start..];
    let raised_in_cell = cell.is_cell_file(&panic.file);
    let cell_line = if raised_in_cell {
        cell.cell_line(panic.line)
    } else {
        frames.iter().find_map(|f| match (&f.file, f.line) {
            (Some(file), Some(line)) if cell.is_cell_file(file) => cell.cell_line(line),
            _ => None,
        })
    };
    let mut shown = Vec::new();
    let raised_at = format!("{}:{}", short_path(&panic.file, &library), panic.line);
    if !raised_in_cell {
        shown.push(format!("  at {raised_at}"));
    }
    for frame in frames {
        let function = short_function(&frame.function);
        // Below the cell is evcxr's runtime (and the kernel binary, also `ferrolab`).
        if function.starts_with("evcxr::") || function.contains("run_user_code_") {
            break;
        }
        let place = match (&frame.file, frame.line) {
            (Some(file), Some(line)) if !cell.is_cell_file(file) => {
                Some(format!("{}:{line}", short_path(file, &library)))
            }
            _ => None,
        };
        if is_ours(function, place.as_deref()) && place.as_deref() != Some(raised_at.as_str()) {
            let name = without_generics(function);
            shown.push(match place {
                Some(place) => format!("  in {name} ({place})"),
                None => format!("  in {name}"),
            });
        }
    }
    // The panic happened while the cell ran, whether or not its frame has a name.
    shown.push(match cell_line {
        Some(line) => format!("  in your cell, line {line}"),
        None => "  in your cell".to_string(),
    });
    shown.dedup();
    let head = match cell_line {
        Some(line) => format!("panic at cell line {line}: {}", panic.message),
        None => format!("panic: {}", panic.message),
    };
    let mut traceback = vec![head];
    if let Some(line) = cell_line.and_then(|l| cell.whole_cell_line(l)) {
        traceback.push(format!("  {line}"));
    }
    traceback.extend(shown);
    traceback.push("(`:backtrace` shows every frame)".into());
    Event::Error {
        ename: "panic".into(),
        evalue: panic.message.clone(),
        traceback,
    }
}

/// A frame of the library or dfdx: by its symbol's path (code compiled in the library) or,
/// for their generic code compiled into the cell with line tables, by its source file.
fn is_ours(function: &str, place: Option<&str>) -> bool {
    let by_name = ["ferrolab::", "<ferrolab::", "dfdx::", "<dfdx::"];
    let by_file = ["src/", "dfdx-"];
    by_name.iter().any(|p| function.starts_with(p))
        || place.is_some_and(|p| by_file.iter().any(|f| p.starts_with(f)))
}

/// `forward<ferrolab::models::cnn::Cnn<f32, …>, …>` -> `forward`: line tables name a
/// generic function with all its type arguments, which say nothing to a learner.
fn without_generics(function: &str) -> &str {
    if function.starts_with('<') {
        return function;
    }
    function.split('<').next().unwrap_or(function)
}

/// A path a learner can place: inside the library from its root, inside a registry crate
/// from the crate's folder (`dfdx-0.13.0/src/nn/module.rs`).
fn short_path(file: &str, library: &str) -> String {
    if let Some(rest) = file.strip_prefix(library) {
        return rest.trim_start_matches('/').to_string();
    }
    match file.find("/registry/src/") {
        Some(i) => {
            let rest = &file[i + "/registry/src/".len()..];
            rest.split_once('/').map_or(rest, |(_, r)| r).to_string()
        }
        None => file.to_string(),
    }
}

impl CellSource<'_> {
    fn whole_cell_line(&self, line: usize) -> Option<&str> {
        self.code
            .lines()
            .nth(line.checked_sub(1 + self.line_offset)?)
            .map(str::trim)
    }
}

/// `ferrolab::models::cnn::Cnn<E,D>::forward` without the hash suffix std adds.
fn short_function(function: &str) -> &str {
    match function.rfind("::h") {
        Some(i) if function[i + 3..].chars().all(|c| c.is_ascii_hexdigit()) => &function[..i],
        _ => function,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENERATED: &str = "fn helper() {\n    let z = 1;\n}\n#[unsafe(no_mangle)]\npub extern \"C\" fn run_user_code_3(\n  std::panic::AssertUnwindSafe(||{\nlet v = vec![1, 2, 3];\nlet a = v[0];\nlet a = v[0];\n(\nv[3]\n).evcxr_display();\n})) {\n";

    #[test]
    fn generated_lines_map_to_the_cell_line_they_copy() {
        let code = "let v = vec![1, 2, 3];\nlet a = v[0];\nlet a = v[0];\nv[3]";
        let cell = CellSource {
            code,
            line_offset: 0,
            generated: GENERATED,
            generated_path: std::path::Path::new("/cache/slot-0/src/lib.rs"),
        };
        assert_eq!(cell.cell_line(7), Some(1));
        assert_eq!(cell.cell_line(8), Some(2));
        assert_eq!(cell.cell_line(9), Some(3), "the second copy is the second line");
        assert_eq!(cell.cell_line(11), Some(4));
        assert_eq!(cell.cell_line(10), None, "evcxr's own `(`");
        let shifted = CellSource {
            line_offset: 2,
            ..cell
        };
        assert_eq!(shifted.cell_line(11), Some(6));
    }

    #[test]
    fn the_hooks_line_parses_and_frames_are_filtered() {
        let line = r#"FERROLAB_PANIC {"message":"index out of bounds: the len is 3 but the index is 3","file":"src/lib.rs","line":11,"column":1,"thread":"main","backtrace":"   0: ctx::run_user_code_1::{{closure}}\n   1: __rustc::rust_begin_unwind\n   1: ferrolab::nn::dense::Dense::forward::h0123456789abcdef\n             at /lib/src/nn/dense.rs:40:9\n   2: run_user_code_3\n             at src/lib.rs:11:1\n   3: evcxr::runtime::Runtime::load_and_run\n             at /r/evcxr/src/runtime.rs:80:5\n"}"#;
        let panic = Panic::parse(line).unwrap();
        assert_eq!(panic.thread, "main");
        assert_eq!(frames(&panic.backtrace).len(), 5);
        let cell = CellSource {
            code: "let v = vec![1, 2, 3];\nlet a = v[0];\nlet a = v[0];\nv[3]",
            line_offset: 0,
            generated: GENERATED,
            generated_path: std::path::Path::new("/cache/slot-0/src/lib.rs"),
        };
        let Event::Error {
            traceback, evalue, ..
        } = error_event(&panic, &cell, std::path::Path::new("/lib"))
        else {
            panic!()
        };
        assert_eq!(evalue, panic.message);
        assert_eq!(
            traceback,
            vec![
                "panic at cell line 4: index out of bounds: the len is 3 but the index is 3",
                "  v[3]",
                "  in ferrolab::nn::dense::Dense::forward (src/nn/dense.rs:40)",
                "  in your cell, line 4",
                "(`:backtrace` shows every frame)",
            ]
        );
        let outside = Panic {
            file: "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/dfdx-0.13.0/src/nn/module.rs".into(),
            line: 21,
            backtrace: "   0: core::result::unwrap_failed\n   1: dfdx::nn::module::Module::forward\n   2: run_user_code_2\n   3: evcxr::runtime::Runtime::load_and_run\n".into(),
            ..panic
        };
        let Event::Error { traceback, .. } = error_event(&outside, &cell, std::path::Path::new("/lib"))
        else {
            panic!()
        };
        assert_eq!(
            traceback,
            vec![
                "panic: index out of bounds: the len is 3 but the index is 3",
                "  at dfdx-0.13.0/src/nn/module.rs:21",
                "  in dfdx::nn::module::Module::forward",
                "  in your cell",
                "(`:backtrace` shows every frame)",
            ]
        );
    }

    #[test]
    fn a_panic_inside_the_library_is_placed_at_the_cell_line_that_called_it() {
        // As std renders it when only the cell crate has line tables (setup::CELL_PROFILE).
        let backtrace = "   0: {closure#0}\n             at /cache/slot-0/src/lib.rs:28:21\n   5: __rustc::rust_begin_unwind\n   8: unwrap<dfdx::tensor::tensor_impls::Tensor<(usize, usize), f32>, ferrolab::error::Error>\n             at /root/.rustup/toolchains/stable/lib/rustlib/src/rust/library/core/src/result.rs:1233:23\n   9: try_forward<f32, dfdx::tensor::cpu::device::Cpu>\n             at /lib/src/models/cnn.rs:80:13\n  10: forward<ferrolab::models::cnn::Cnn<f32, dfdx::tensor::cpu::device::Cpu>, dfdx::tensor::tensor_impls::Tensor<(usize, usize, usize, usize), f32>>\n             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/dfdx-0.13.0/src/nn/module.rs:21:33\n  11: {closure#0}\n             at /cache/slot-0/src/lib.rs:8:15\n  16: run_user_code_3\n             at /cache/slot-0/src/lib.rs:6:7\n  17: load_and_run\n             at /home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/evcxr-0.22.0/src/runtime.rs:83:39\n";
        let panic = Panic {
            message: "called `Result::unwrap()` on an `Err` value: Cnn: expected input (batch, 1, 28, 28)"
                .into(),
            file: "/home/u/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/dfdx-0.13.0/src/nn/module.rs"
                .into(),
            line: 21,
            column: 33,
            thread: "main".into(),
            backtrace: backtrace.into(),
        };
        let cell = CellSource {
            code: "let v = vec![1, 2, 3];\nlet a = v[0];\nlet a = v[0];\nv[3]",
            line_offset: 0,
            generated: GENERATED,
            generated_path: std::path::Path::new("/cache/slot-0/src/lib.rs"),
        };
        let Event::Error { traceback, .. } = error_event(&panic, &cell, std::path::Path::new("/lib")) else {
            panic!()
        };
        assert_eq!(
            traceback,
            vec![
                "panic at cell line 2: called `Result::unwrap()` on an `Err` value: Cnn: expected input (batch, 1, 28, 28)",
                "  let a = v[0];",
                "  at dfdx-0.13.0/src/nn/module.rs:21",
                "  in try_forward (src/models/cnn.rs:80)",
                "  in your cell, line 2",
                "(`:backtrace` shows every frame)",
            ]
        );
    }
}
