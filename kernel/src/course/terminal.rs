//! Markdown prose as terminal text: headings, emphasis, inline code, fenced code, lists and
//! formulas (`$…$`, `$$…$$`) in Unicode, with ANSI styles when `colour` is on.
//!
//! A light renderer for the chapters' own prose, not a CommonMark implementation: tables,
//! quotes and HTML pass through as written. Lines are not re-wrapped.

use super::tex;

/// Renders `markdown` for a terminal.
pub fn render(markdown: &str, colour: bool) -> String {
    let style = |text: &str, code: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            let label = info.trim_start_matches('`').trim();
            if !label.is_empty() {
                out.push(style(&format!("  ─ {label} ─"), "2"));
            }
            for code in lines.by_ref() {
                if code.trim_start().starts_with("```") {
                    break;
                }
                out.push(style(&format!("    {code}"), "36"));
            }
        } else if trimmed.starts_with("$$") {
            let mut formula = trimmed.trim_start_matches("$$").to_string();
            if !formula.trim_end().ends_with("$$") {
                for more in lines.by_ref() {
                    formula.push(' ');
                    formula.push_str(more.trim());
                    if more.trim_end().ends_with("$$") {
                        break;
                    }
                }
            }
            let formula = formula.trim().trim_end_matches("$$").trim();
            out.push(style(&format!("    {}", tex::to_unicode(formula)), "1"));
        } else if let Some(heading) = heading(trimmed) {
            let (level, text) = heading;
            let text = inline(text, colour);
            out.push(match level {
                1 => style(&text, "1;4"),
                _ => style(&text, "1"),
            });
        } else if let Some(item) = trimmed.strip_prefix("- ").or_else(|| trimmed.strip_prefix("* ")) {
            let indent = &line[..line.len() - trimmed.len()];
            out.push(format!("{indent}• {}", inline(item, colour)));
        } else {
            out.push(inline(line, colour));
        }
    }
    out.join("\n")
}

fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.chars().take_while(|&c| c == '#').count();
    (1..=6)
        .contains(&level)
        .then(|| line[level..].strip_prefix(' '))
        .flatten()
        .map(|t| (level, t))
}

/// Inline markup of one line: `code`, **bold**, *emphasis*, $formula$, [text](url).
fn inline(line: &str, colour: bool) -> String {
    let style = |text: &str, code: &str| {
        if colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut out = String::new();
    let mut rest = line;
    while !rest.is_empty() {
        let delimited = |open: &str, close: &str| -> Option<(String, usize)> {
            let body = rest.strip_prefix(open)?;
            let end = body.find(close)?;
            (end > 0).then(|| (body[..end].to_string(), open.len() + end + close.len()))
        };
        if let Some((code, used)) = delimited("`", "`") {
            out.push_str(&style(&code, "36"));
            rest = &rest[used..];
        } else if let Some((formula, used)) = delimited("$", "$") {
            out.push_str(&tex::to_unicode(&formula));
            rest = &rest[used..];
        } else if let Some((bold, used)) = delimited("**", "**") {
            out.push_str(&style(&bold, "1"));
            rest = &rest[used..];
        } else if let Some((em, used)) = delimited("*", "*").filter(|(t, _)| !t.starts_with(' ')) {
            out.push_str(&style(&em, "3"));
            rest = &rest[used..];
        } else if let Some((link, used)) = link(rest) {
            out.push_str(&link);
            rest = &rest[used..];
        } else {
            let c = rest.chars().next().expect("rest is not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// `[text](url)` → `text (url)`.
fn link(rest: &str) -> Option<(String, usize)> {
    let body = rest.strip_prefix('[')?;
    let close = body.find("](")?;
    let url_end = body[close + 2..].find(')')?;
    let (text, url) = (&body[..close], &body[close + 2..close + 2 + url_end]);
    Some((format!("{text} ({url})"), 1 + close + 2 + url_end + 1))
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn prose_renders_as_plain_terminal_text() {
        let md = "# 3.1 CNN 卷积\n\nA *kernel* slides; see `Conv2D` and $y = W^T x$.\n\n- one\n\n```rust\nlet x = 1;\n```\n\n$$\n\\frac{a}{b}\n$$\n[paper](https://arxiv.org)";
        let text = render(md, false);
        assert_eq!(
            text,
            "3.1 CNN 卷积\n\nA kernel slides; see Conv2D and y = Wᵀ x.\n\n• one\n\n  ─ rust ─\n    let x = 1;\n\n    a/b\npaper (https://arxiv.org)"
        );
        assert!(render("**b**", true).contains("\x1b[1mb\x1b[0m"));
    }
}
