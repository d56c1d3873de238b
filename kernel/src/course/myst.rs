//! Reads a chapter written as a MyST Markdown notebook (`tutorials/*.md`) into cells.
//!
//! The subset read is the one `tutorials/README.md` documents: YAML front matter, markdown
//! split into cells by code cells and `+++` lines, code cells fenced as
//! ```` ```{code-cell} rust ```` with `:key: value` options at their top, and inside markdown
//! the directives `{exercise}`, `{hint}`, `{solution}`, `{mistake}` (plus admonitions such as
//! `{note}`). Errors name the file and line. It does not parse YAML beyond finding the
//! kernelspec name, nor Markdown beyond fences.

use std::fmt;

/// A parse failure at `line` (1-based) of `file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// One cell of the notebook, in source order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Markdown(Vec<Block>),
    Code(CodeCell),
}

/// A code cell: its source and options (`:tags: [plot]` becomes `("tags", "[plot]")`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeCell {
    pub source: String,
    pub options: Vec<(String, String)>,
    /// Line of the opening fence, for messages.
    pub line: usize,
}

impl CodeCell {
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The names in `:tags: [a, b]`.
    pub fn tags(&self) -> Vec<&str> {
        self.option("tags")
            .map(|t| {
                t.trim_matches(|c| c == '[' || c == ']')
                    .split(',')
                    .map(|s| s.trim().trim_matches('"'))
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A piece of a markdown cell: prose, or a directive with its argument and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Text(String),
    Directive {
        name: String,
        arg: String,
        body: String,
        line: usize,
    },
}

/// A chapter as written: the front matter's text and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub front_matter: String,
    pub cells: Vec<Cell>,
}

/// A fence opener: its backtick count and what follows it.
fn fence(line: &str) -> Option<(usize, &str)> {
    let ticks = line.len() - line.trim_start_matches('`').len();
    (ticks >= 3).then(|| (ticks, line[ticks..].trim()))
}

fn is_closing(line: &str, ticks: usize) -> bool {
    let t = line.trim_end();
    t.len() == ticks && t.bytes().all(|b| b == b'`')
}

/// `{name} arg` → (name, arg).
fn directive_head(info: &str) -> Option<(&str, &str)> {
    let rest = info.strip_prefix('{')?;
    let end = rest.find('}')?;
    Some((&rest[..end], rest[end + 1..].trim()))
}

/// Parses `text`, the content of `file`.
pub fn parse(file: &str, text: &str) -> Result<Source, ParseError> {
    let err = |line: usize, message: String| ParseError {
        file: file.to_string(),
        line,
        message,
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut front_matter = String::new();
    if lines.first().map(|l| l.trim_end()) == Some("---") {
        let end = lines[1..]
            .iter()
            .position(|l| l.trim_end() == "---")
            .ok_or_else(|| err(1, "front matter opened with `---` is never closed".into()))?;
        front_matter = lines[1..=end].join("\n");
        i = end + 2;
    }

    let mut cells = Vec::new();
    let mut markdown: Vec<(usize, &str)> = Vec::new();
    let flush = |markdown: &mut Vec<(usize, &str)>, cells: &mut Vec<Cell>| -> Result<(), ParseError> {
        let blocks = markdown_blocks(file, markdown)?;
        markdown.clear();
        if !blocks.is_empty() {
            cells.push(Cell::Markdown(blocks));
        }
        Ok(())
    };
    while i < lines.len() {
        let line = lines[i];
        let opened = fence(line);
        match opened {
            Some((ticks, info)) if info.starts_with("{code-cell}") => {
                flush(&mut markdown, &mut cells)?;
                let start = i + 1;
                let close = (start..lines.len())
                    .find(|&j| is_closing(lines[j], ticks))
                    .ok_or_else(|| err(i + 1, "code cell is never closed".into()))?;
                let mut body = &lines[start..close];
                let mut options = Vec::new();
                while let Some(opt) = body.first().and_then(|l| parse_option(l)) {
                    options.push(opt);
                    body = &body[1..];
                }
                cells.push(Cell::Code(CodeCell {
                    source: body.join("\n").trim_end().to_string(),
                    options,
                    line: i + 1,
                }));
                i = close + 1;
            }
            Some((ticks, info)) => {
                // Any other fence stays markdown; skip to its end so nothing inside is read.
                let what = match directive_head(info) {
                    Some((name, _)) => format!("directive {{{name}}}"),
                    None => format!("fence `{}`", line.trim()),
                };
                let close = (i + 1..lines.len())
                    .find(|&j| is_closing(lines[j], ticks))
                    .ok_or_else(|| err(i + 1, format!("{what} is never closed")))?;
                markdown.extend((i..=close).map(|j| (j + 1, lines[j])));
                i = close + 1;
            }
            None if line.trim_end() == "+++" => {
                flush(&mut markdown, &mut cells)?;
                i += 1;
            }
            None => {
                markdown.push((i + 1, line));
                i += 1;
            }
        }
    }
    flush(&mut markdown, &mut cells)?;
    Ok(Source { front_matter, cells })
}

/// `:key: value` → (key, value).
fn parse_option(line: &str) -> Option<(String, String)> {
    let rest = line.strip_prefix(':')?;
    let end = rest.find(':')?;
    let key = &rest[..end];
    (!key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_'))
        .then(|| (key.to_string(), rest[end + 1..].trim().to_string()))
}

/// Splits a markdown cell's lines into prose and directives.
fn markdown_blocks(file: &str, lines: &[(usize, &str)]) -> Result<Vec<Block>, ParseError> {
    let mut blocks = Vec::new();
    let mut text: Vec<&str> = Vec::new();
    let push_text = |text: &mut Vec<&str>, blocks: &mut Vec<Block>| {
        let joined = text.join("\n");
        let trimmed = joined.trim_matches('\n');
        if !trimmed.trim().is_empty() {
            blocks.push(Block::Text(trimmed.to_string()));
        }
        text.clear();
    };
    let mut k = 0;
    while k < lines.len() {
        let (number, line) = lines[k];
        let head = fence(line).and_then(|(ticks, info)| Some((ticks, directive_head(info)?)));
        let Some((ticks, (name, arg))) = head else {
            // A plain fence was kept whole by `parse`: copy it through untouched.
            if let Some((ticks, _)) = fence(line) {
                let close = (k + 1..lines.len())
                    .find(|&j| is_closing(lines[j].1, ticks))
                    .unwrap_or(k);
                text.extend(lines[k..=close].iter().map(|(_, l)| *l));
                k = close + 1;
            } else {
                text.push(line);
                k += 1;
            }
            continue;
        };
        let close = (k + 1..lines.len())
            .find(|&j| is_closing(lines[j].1, ticks))
            .ok_or_else(|| ParseError {
                file: file.to_string(),
                line: number,
                message: format!("directive {{{name}}} is never closed"),
            })?;
        push_text(&mut text, &mut blocks);
        let body: Vec<&str> = lines[k + 1..close].iter().map(|(_, l)| *l).collect();
        blocks.push(Block::Directive {
            name: name.to_string(),
            arg: arg.to_string(),
            body: body.join("\n").trim_matches('\n').to_string(),
            line: number,
        });
        k = close + 1;
    }
    push_text(&mut text, &mut blocks);
    Ok(blocks)
}

/// The code of the single fenced block inside a directive's body (a solution or mistake).
pub fn fenced_code(body: &str) -> Option<String> {
    let lines: Vec<&str> = body.lines().collect();
    let start = lines.iter().position(|l| fence(l).is_some())?;
    let (ticks, _) = fence(lines[start])?;
    let end = (start + 1..lines.len()).find(|&j| is_closing(lines[j], ticks))?;
    Some(lines[start + 1..end].join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "---\nkernelspec:\n  name: ferrolab\n---\n# Title 标题\n\nIntro.\n\n```python\n+++\n```\n+++\nSecond.\n\n```{code-cell} rust\n:tags: [plot, x]\nlet a = 1;\n```\n\n```{exercise} ex-one\nDo it\n\nNow.\n```\n\n````{solution} ex-one\n```rust\nfn f() {}\n```\n````\n";

    #[test]
    fn cells_options_and_directives() {
        let src = parse("t.md", SAMPLE).unwrap();
        assert_eq!(src.front_matter, "kernelspec:\n  name: ferrolab");
        assert_eq!(src.cells.len(), 4, "{:#?}", src.cells);
        let Cell::Markdown(first) = &src.cells[0] else {
            panic!()
        };
        assert_eq!(
            first,
            &[Block::Text(
                "# Title 标题\n\nIntro.\n\n```python\n+++\n```".into()
            )]
        );
        let Cell::Code(code) = &src.cells[2] else { panic!() };
        assert_eq!(code.source, "let a = 1;");
        assert_eq!(code.tags(), ["plot", "x"]);
        assert_eq!(code.line, 15);
        let Cell::Markdown(blocks) = &src.cells[3] else {
            panic!()
        };
        let Block::Directive { name, arg, body, .. } = &blocks[1] else {
            panic!()
        };
        assert_eq!((name.as_str(), arg.as_str()), ("solution", "ex-one"));
        assert_eq!(fenced_code(body).unwrap(), "fn f() {}");
        assert!(
            matches!(&blocks[0], Block::Directive { name, body, .. } if name == "exercise" && body == "Do it\n\nNow.")
        );
    }

    #[test]
    fn unclosed_things_name_their_line() {
        let e = parse("c.md", "text\n```{code-cell} rust\nlet x = 1;\n").unwrap_err();
        assert_eq!(e.to_string(), "c.md:2: code cell is never closed");
        let e = parse("c.md", "---\nfront\n").unwrap_err();
        assert_eq!(e.line, 1);
        let e = parse("c.md", "a\n\n````{hint} x\nbody\n").unwrap_err();
        assert_eq!(e.to_string(), "c.md:3: directive {hint} is never closed");
    }
}
