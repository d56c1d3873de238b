//! Renders a chapter as a Jupyter notebook (nbformat 4.5): markdown and code cells with
//! stable ids, the `ferrolab` kernelspec, no outputs.
//!
//! Exercise statements become headed markdown; hints, solutions and mistakes become
//! collapsed `<details>` blocks, since Jupyter's markdown knows no MyST directives. Each
//! exercise's placeholder and check cells carry `metadata.ferrolab` (`exercise` / `check`:
//! its id), and the notebook's metadata lists every exercise's solution and mistake, so a
//! test can run all three answers through the real kernel. JSON keys are sorted and indented
//! by one space, as nbformat writes them, so a rendered notebook diffs cleanly.

use serde_json::{json, Value};

use super::chapter::{is_admonition, Chapter};
use super::myst::{Block, Cell};

/// The notebook JSON text for `chapter`, newline-terminated.
pub fn render(chapter: &Chapter) -> String {
    let cells: Vec<Value> = chapter
        .source
        .cells
        .iter()
        .enumerate()
        .map(|(index, cell)| {
            let id = format!("{}-{index:03}", chapter.slug);
            match cell {
                Cell::Markdown(blocks) => json!({
                    "cell_type": "markdown",
                    "id": id,
                    "metadata": {},
                    "source": source_lines(&markdown(blocks)),
                }),
                Cell::Code(code) => {
                    let mut metadata = serde_json::Map::new();
                    let tags = code.tags();
                    if !tags.is_empty() {
                        metadata.insert("tags".into(), json!(tags));
                    }
                    for role in ["exercise", "check"] {
                        if let Some(exercise) = code.option(role) {
                            metadata.insert("ferrolab".into(), json!({ role: exercise }));
                        }
                    }
                    json!({
                        "cell_type": "code",
                        "execution_count": null,
                        "id": id,
                        "metadata": metadata,
                        "outputs": [],
                        "source": source_lines(&code.source),
                    })
                }
            }
        })
        .collect();
    let exercises: Vec<Value> = chapter
        .exercises
        .iter()
        .map(|e| json!({ "id": e.id, "solution": e.solution, "mistake": e.mistake }))
        .collect();
    let notebook = json!({
        "cells": cells,
        "metadata": {
            "ferrolab": {
                "chapter": chapter.slug,
                "source": format!("tutorials/{}.md", chapter.slug),
                "exercises": exercises,
            },
            "kernelspec": {
                "display_name": "Rust (ferrolab)",
                "language": "rust",
                "name": "ferrolab",
            },
            "language_info": {
                "codemirror_mode": "rust",
                "file_extension": ".rs",
                "mimetype": "text/rust",
                "name": "rust",
                "pygments_lexer": "rust",
            },
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    });
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(&notebook, &mut serializer).expect("JSON values always serialize");
    let mut text = String::from_utf8(out).expect("serde_json writes UTF-8");
    text.push('\n');
    text
}

/// A markdown cell's text with its directives turned into plain Jupyter markdown.
fn markdown(blocks: &[Block]) -> String {
    let parts: Vec<String> = blocks
        .iter()
        .map(|block| match block {
            Block::Text(text) => text.clone(),
            Block::Directive { name, body, .. } => match name.as_str() {
                "exercise" => {
                    let (title, statement) = body.split_once('\n').unwrap_or((body, ""));
                    format!("### ✏️ Exercise: {}\n\n{}", title.trim(), statement.trim())
                }
                "hint" => details("💡 Hint", body),
                "solution" => details("Solution", body),
                "mistake" => details("A common mistake (the check explains why it is wrong)", body),
                name if is_admonition(name) => {
                    let label = format!("**{}{}.**", name[..1].to_uppercase(), &name[1..]);
                    let quoted: Vec<String> = format!("{label} {body}")
                        .lines()
                        .map(|l| format!("> {l}"))
                        .collect();
                    quoted.join("\n")
                }
                other => format!("```{{{other}}}\n{body}\n```"),
            },
        })
        .collect();
    parts.join("\n\n")
}

fn details(summary: &str, body: &str) -> String {
    format!("<details><summary>{summary}</summary>\n\n{body}\n\n</details>")
}

/// nbformat's multi-line string: lines keeping their `\n`, the last without one.
fn source_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::course::chapter::tests::TWO_EXERCISES;

    #[test]
    fn a_chapter_renders_as_nbformat_4_5() {
        let chapter = Chapter::parse("t", "t.md", TWO_EXERCISES).unwrap();
        let text = render(&chapter);
        assert!(text.ends_with("}\n"));
        let nb: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            (nb["nbformat"].as_u64(), nb["nbformat_minor"].as_u64()),
            (Some(4), Some(5))
        );
        assert_eq!(nb["metadata"]["kernelspec"]["name"], "ferrolab");
        let cells = nb["cells"].as_array().unwrap();
        let ids: Vec<&str> = cells.iter().map(|c| c["id"].as_str().unwrap()).collect();
        assert_eq!(ids[0], "t-000");
        assert!(cells
            .iter()
            .all(|c| c.get("outputs").is_none_or(|o| o.as_array().unwrap().is_empty())));
        let code: Vec<&Value> = cells.iter().filter(|c| c["cell_type"] == "code").collect();
        assert_eq!(code[1]["metadata"]["ferrolab"]["exercise"], "double");
        assert_eq!(code[2]["metadata"]["ferrolab"]["check"], "double");
        assert_eq!(code[0]["source"], json!(["let x = 2;"]));
        let all_markdown: String = cells
            .iter()
            .filter(|c| c["cell_type"] == "markdown")
            .flat_map(|c| {
                c["source"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
            })
            .collect();
        assert!(all_markdown.contains("### ✏️ Exercise: Double it"));
        assert!(all_markdown.contains("<details><summary>💡 Hint</summary>\n\nAdd it to itself."));
        assert!(!all_markdown.contains("{solution}"));
        assert_eq!(
            nb["metadata"]["ferrolab"]["exercises"][1]["mistake"],
            "fn triple(x: i32) -> i32 { x + 3 }"
        );
        assert_eq!(render(&chapter), text, "rendering is deterministic");
    }
}
