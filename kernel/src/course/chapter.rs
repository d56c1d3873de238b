//! A chapter as the course and the renderers use it: its cells, its exercises gathered from
//! their five parts, and the steps a learner walks through in the terminal.
//!
//! Validation happens here, once: every exercise must have its statement, placeholder,
//! check, hint, solution and mistake, and a chapter must have a title, the `ferrolab`
//! kernelspec and at least two exercises.

use super::myst::{self, Block, Cell, CodeCell, ParseError};

/// The chapters built into the binary: (slug, MyST source), in book order.
pub fn builtin() -> &'static [(&'static str, &'static str)] {
    include!(concat!(env!("OUT_DIR"), "/chapters.rs"))
}

/// One checked exercise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exercise {
    pub id: String,
    pub title: String,
    /// The task, as markdown (after its title line).
    pub statement: String,
    /// The code cell the learner edits (a function whose body is `todo!()`).
    pub placeholder: String,
    /// The cell that judges it.
    pub check: String,
    pub hint: String,
    /// Rust code of the solution and of a plausible wrong answer.
    pub solution: String,
    pub mistake: String,
}

/// What the terminal course shows at one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Markdown prose (exercise statements included, hints and solutions left out).
    Prose(String),
    /// A code cell to run on request.
    Code { source: String, plot: bool },
    /// An exercise's placeholder, to edit and check.
    Exercise(usize),
}

#[derive(Debug, Clone)]
pub struct Chapter {
    pub slug: String,
    pub title: String,
    pub source: myst::Source,
    pub exercises: Vec<Exercise>,
}

impl Chapter {
    /// Parses and validates `text`, the chapter `slug` read from `file`.
    pub fn parse(slug: &str, file: &str, text: &str) -> Result<Chapter, ParseError> {
        let source = myst::parse(file, text)?;
        let err = |line: usize, message: String| ParseError {
            file: file.to_string(),
            line,
            message,
        };
        if !source.front_matter.lines().any(|l| l.trim() == "name: ferrolab") {
            return Err(err(
                1,
                "front matter must name the kernelspec `name: ferrolab`".into(),
            ));
        }
        let title = source
            .cells
            .iter()
            .find_map(|cell| match cell {
                Cell::Markdown(blocks) => blocks.iter().find_map(|b| match b {
                    Block::Text(t) => t.lines().find_map(|l| l.strip_prefix("# ")).map(str::to_string),
                    _ => None,
                }),
                Cell::Code(_) => None,
            })
            .ok_or_else(|| err(1, "the chapter has no `# ` title".into()))?;
        let exercises = gather_exercises(file, &source)?;
        if exercises.len() < 2 {
            return Err(err(
                1,
                format!(
                    "a chapter needs at least two exercises, found {}",
                    exercises.len()
                ),
            ));
        }
        Ok(Chapter {
            slug: slug.to_string(),
            title,
            source,
            exercises,
        })
    }

    /// The built-in chapter `slug`.
    pub fn builtin(slug: &str) -> Option<Result<Chapter, ParseError>> {
        let (slug, text) = builtin().iter().find(|(s, _)| *s == slug)?;
        Some(Chapter::parse(slug, &format!("tutorials/{slug}.md"), text))
    }

    /// The code cells in order, as they run in a notebook.
    pub fn code_cells(&self) -> impl Iterator<Item = &CodeCell> {
        self.source.cells.iter().filter_map(|c| match c {
            Cell::Code(code) => Some(code),
            Cell::Markdown(_) => None,
        })
    }

    pub fn exercise(&self, id: &str) -> Option<usize> {
        self.exercises.iter().position(|e| e.id == id)
    }

    /// The steps of the terminal course: prose, code, exercises; check cells are run by
    /// `:check`, not shown as steps.
    pub fn steps(&self) -> Vec<Step> {
        let mut steps = Vec::new();
        for cell in &self.source.cells {
            match cell {
                Cell::Markdown(blocks) => {
                    let prose = blocks
                        .iter()
                        .filter_map(|b| match b {
                            Block::Text(t) => Some(t.clone()),
                            Block::Directive { name, body, .. } if name == "exercise" => {
                                let (title, rest) = body.split_once('\n').unwrap_or((body, ""));
                                Some(format!("### Exercise: {}\n\n{}", title.trim(), rest.trim()))
                            }
                            Block::Directive { name, body, .. } if is_admonition(name) => {
                                Some(format!("**{}.** {body}", capitalise(name)))
                            }
                            Block::Directive { .. } => None,
                        })
                        .collect::<Vec<_>>();
                    if !prose.is_empty() {
                        steps.push(Step::Prose(prose.join("\n\n")));
                    }
                }
                Cell::Code(code) if code.option("check").is_some() => {}
                Cell::Code(code) => match code.option("exercise").and_then(|id| self.exercise(id)) {
                    Some(index) => steps.push(Step::Exercise(index)),
                    None => steps.push(Step::Code {
                        source: code.source.clone(),
                        plot: code.tags().contains(&"plot"),
                    }),
                },
            }
        }
        steps
    }
}

/// Admonitions rendered as a bold label, in notebooks and the terminal.
pub fn is_admonition(name: &str) -> bool {
    matches!(
        name,
        "note" | "tip" | "important" | "warning" | "caution" | "seealso"
    )
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Collects each exercise's five parts, by id, and checks none is missing.
fn gather_exercises(file: &str, source: &myst::Source) -> Result<Vec<Exercise>, ParseError> {
    let mut exercises: Vec<(usize, Exercise)> = Vec::new();
    let mut parts: Vec<(String, &str, String, usize)> = Vec::new(); // (id, part, text, line)
    for cell in &source.cells {
        match cell {
            Cell::Markdown(blocks) => {
                for block in blocks {
                    if let Block::Directive {
                        name,
                        arg,
                        body,
                        line,
                    } = block
                    {
                        match name.as_str() {
                            "exercise" => {
                                let (title, statement) = body.split_once('\n').unwrap_or((body, ""));
                                exercises.push((
                                    *line,
                                    Exercise {
                                        id: arg.clone(),
                                        title: title.trim().to_string(),
                                        statement: statement.trim().to_string(),
                                        placeholder: String::new(),
                                        check: String::new(),
                                        hint: String::new(),
                                        solution: String::new(),
                                        mistake: String::new(),
                                    },
                                ));
                            }
                            "hint" => parts.push((arg.clone(), "hint", body.clone(), *line)),
                            "solution" | "mistake" => {
                                let code = myst::fenced_code(body).ok_or_else(|| ParseError {
                                    file: file.to_string(),
                                    line: *line,
                                    message: format!("{{{name}}} {arg} must hold one fenced ```rust block"),
                                })?;
                                parts.push((
                                    arg.clone(),
                                    if name == "solution" { "solution" } else { "mistake" },
                                    code,
                                    *line,
                                ));
                            }
                            _ => {}
                        }
                    }
                }
            }
            Cell::Code(code) => {
                if let Some(id) = code.option("exercise") {
                    parts.push((id.to_string(), "placeholder", code.source.clone(), code.line));
                }
                if let Some(id) = code.option("check") {
                    parts.push((id.to_string(), "check", code.source.clone(), code.line));
                }
            }
        }
    }
    for (id, part, text, line) in parts {
        let Some((_, exercise)) = exercises.iter_mut().find(|(_, e)| e.id == id) else {
            return Err(ParseError {
                file: file.to_string(),
                line,
                message: format!("{part} for exercise `{id}`, which has no {{exercise}} {id} directive"),
            });
        };
        let slot = match part {
            "placeholder" => &mut exercise.placeholder,
            "check" => &mut exercise.check,
            "hint" => &mut exercise.hint,
            "solution" => &mut exercise.solution,
            _ => &mut exercise.mistake,
        };
        *slot = text;
    }
    for (line, exercise) in &exercises {
        let missing: Vec<&str> = [
            ("placeholder code cell (:exercise:)", &exercise.placeholder),
            ("check code cell (:check:)", &exercise.check),
            ("{hint}", &exercise.hint),
            ("{solution}", &exercise.solution),
            ("{mistake}", &exercise.mistake),
        ]
        .iter()
        .filter(|(_, text)| text.trim().is_empty())
        .map(|(name, _)| *name)
        .collect();
        if !missing.is_empty() {
            return Err(ParseError {
                file: file.to_string(),
                line: *line,
                message: format!("exercise `{}` lacks its {}", exercise.id, missing.join(", ")),
            });
        }
        if !exercise.placeholder.contains("todo!(") {
            return Err(ParseError {
                file: file.to_string(),
                line: *line,
                message: format!(
                    "exercise `{}`: its placeholder must contain `todo!()`",
                    exercise.id
                ),
            });
        }
    }
    Ok(exercises.into_iter().map(|(_, e)| e).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const TWO_EXERCISES: &str = r#"---
kernelspec:
  name: ferrolab
---
# 9 Test 测试

Some *prose*.

```{code-cell} rust
let x = 2;
```

```{exercise} double
Double it
Write `double`.
```

```{code-cell} rust
:exercise: double
fn double(x: i32) -> i32 { todo!() }
```

```{code-cell} rust
:check: double
exercises::check("double", || exercises::expect_eq("x = 3", double(3), 6))
```

````{hint} double
Add it to itself.
````

````{solution} double
```rust
fn double(x: i32) -> i32 { x * 2 }
```
````

````{mistake} double
```rust
fn double(x: i32) -> i32 { x + 2 }
```
````

+++

```{exercise} triple
Triple it
```

```{code-cell} rust
:exercise: triple
fn triple(x: i32) -> i32 { todo!() }
```

```{code-cell} rust
:check: triple
exercises::check("triple", || exercises::expect_eq("x = 1", triple(1), 3))
```

````{hint} triple
Times three.
````

````{solution} triple
```rust
fn triple(x: i32) -> i32 { 3 * x }
```
````

````{mistake} triple
```rust
fn triple(x: i32) -> i32 { x + 3 }
```
````
"#;

    #[test]
    fn exercises_gather_their_five_parts() {
        let ch = Chapter::parse("t", "t.md", TWO_EXERCISES).unwrap();
        assert_eq!(ch.title, "9 Test 测试");
        assert_eq!(ch.exercises.len(), 2);
        let e = &ch.exercises[0];
        assert_eq!((e.id.as_str(), e.title.as_str()), ("double", "Double it"));
        assert_eq!(e.statement, "Write `double`.");
        assert_eq!(e.solution, "fn double(x: i32) -> i32 { x * 2 }");
        assert_eq!(e.mistake, "fn double(x: i32) -> i32 { x + 2 }");
        assert!(e.check.starts_with("exercises::check(\"double\""));
        let steps = ch.steps();
        assert!(matches!(&steps[0], Step::Prose(p) if p.contains("*prose*")));
        assert!(matches!(&steps[1], Step::Code { source, plot: false } if source == "let x = 2;"));
        assert!(matches!(&steps[2], Step::Prose(p) if p.starts_with("### Exercise: Double it")));
        assert_eq!(steps[3], Step::Exercise(0));
        assert!(steps
            .iter()
            .all(|s| !matches!(s, Step::Prose(p) if p.contains("Add it to itself"))));
    }

    #[test]
    fn a_missing_part_or_a_lone_exercise_is_an_error() {
        let text = TWO_EXERCISES.replace(
            "````{mistake} double\n```rust\nfn double(x: i32) -> i32 { x + 2 }\n```\n````\n",
            "",
        );
        let e = Chapter::parse("t", "t.md", &text).unwrap_err();
        assert!(e.message.contains("`double` lacks its {mistake}"), "{e}");
        let one = TWO_EXERCISES.split("+++").next().unwrap();
        let e = Chapter::parse("t", "t.md", one).unwrap_err();
        assert!(e.message.contains("at least two exercises"), "{e}");
        let e = Chapter::parse(
            "t",
            "t.md",
            &TWO_EXERCISES.replace("name: ferrolab", "name: python3"),
        )
        .unwrap_err();
        assert!(e.message.contains("kernelspec"), "{e}");
    }

    #[test]
    fn builtin_chapters_parse() {
        for (slug, _) in builtin() {
            Chapter::builtin(slug).unwrap().unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
