//! Backtraces that say where code loaded at run time was.
//!
//! std (and the `backtrace` crate) resolve frames against the list of loaded objects made at
//! the first backtrace, and never refresh it: code loaded later (each notebook cell is a
//! shared object the runtime loads when the cell runs) shows as `<unknown>` once any earlier
//! panic was reported. [`capture`] writes such a frame with its object and address instead
//! (`<unknown> @ /path/libcode_6.so+0x1a2b`, from `/proc/self/maps`), for a reader outside
//! the process to resolve with the object's own line tables.

use std::fmt::Write;

/// The calling thread's stack, innermost frame first, as std renders it (`  N: function`
/// then `at file:line:col` where line tables say), down to the notebook cell's entry
/// (`run_user_code_N`) or evcxr's runtime, or to the end of the stack.
pub fn capture() -> String {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut out = String::new();
    let mut index = 0;
    let mut reached_cell = false;
    backtrace::trace(|frame| {
        let mut named = false;
        backtrace::resolve_frame(frame, |symbol| {
            named = true;
            let name = symbol
                .name()
                .map_or_else(|| "<unknown>".to_string(), |n| format!("{n:#}"));
            // The runtime calls the cell; the cell's own frames may be unnamed (above).
            reached_cell |= name.contains("run_user_code_") || name.starts_with("evcxr::");
            let _ = writeln!(out, "{index:4}: {name}");
            if let (Some(file), Some(line)) = (symbol.filename(), symbol.lineno()) {
                let column = symbol.colno().unwrap_or(0);
                let _ = writeln!(out, "             at {}:{line}:{column}", file.display());
            }
        });
        if !named {
            // A return address points after its call: one byte back is inside it.
            let ip = (frame.ip() as usize).saturating_sub(1);
            match object_at(&maps, ip) {
                Some((path, address)) => {
                    let _ = writeln!(out, "{index:4}: <unknown> @ {path}+{address:#x}");
                }
                None => {
                    let _ = writeln!(out, "{index:4}: <unknown>");
                }
            }
        }
        index += 1;
        !reached_cell
    });
    out
}

/// The object file mapped at `ip` and `ip`'s address in that file's own terms: the offset
/// from where its first segment (file offset 0) was mapped, as for a shared object built
/// to load at address 0.
fn object_at(maps: &str, ip: usize) -> Option<(&str, usize)> {
    let entries = maps.lines().filter_map(|line| {
        let mut fields = line.split_whitespace();
        let (start, end) = fields.next()?.split_once('-')?;
        let (_perms, offset, _dev, _inode) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
        let path = fields.next()?;
        let parse = |h: &str| usize::from_str_radix(h, 16).ok();
        Some((parse(start)?, parse(end)?, parse(offset)?, path))
    });
    let entries: Vec<_> = entries.collect();
    let (_, _, _, path) = entries
        .iter()
        .find(|(start, end, _, _)| (*start..*end).contains(&ip))?;
    let base = entries
        .iter()
        .find(|(_, _, offset, p)| p == path && *offset == 0)?
        .0;
    Some((path, ip - base))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_address_is_placed_in_its_object() {
        let maps = "7f00-7f10 r--p 00000000 fe:00 1 /c/libcode_6.so\n7f10-7f20 r-xp 00001000 fe:00 1 /c/libcode_6.so\n7f30-7f40 rw-p 00000000 00:00 0\n";
        assert_eq!(super::object_at(maps, 0x7f15), Some(("/c/libcode_6.so", 0x15)));
        assert_eq!(
            super::object_at(maps, 0x7f35),
            None,
            "anonymous memory has no file"
        );
        assert_eq!(super::object_at(maps, 0x8000), None);
    }

    #[test]
    fn frames_are_named_in_order() {
        let text = super::capture();
        let ours = text.find("stack_trace::capture").expect(&text);
        let caller = text.find("frames_are_named_in_order").expect(&text);
        assert!(ours < caller, "innermost first: {text}");
        assert!(
            text.lines()
                .next()
                .is_some_and(|l| l.trim_start().starts_with("0: ")),
            "{text}"
        );
    }
}
