//! A small table of a dataset's first items (index, shape, label), for a quick look.
//!
//! Plain text only, through `Display`; a richer notebook display can build on the same
//! rows later. It shows shapes and labels, never the values themselves.

use std::fmt;

use super::dataset::{Dataset, Input};

/// One row of a [`Preview`].
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    pub index: usize,
    pub shape: Vec<usize>,
    /// "f32" or "token ids".
    pub kind: &'static str,
    pub label: usize,
    /// The class name when the dataset knows it.
    pub class: Option<String>,
}

/// The first items of a dataset, shown as a text table.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    /// Items in the whole dataset.
    pub total: usize,
    pub rows: Vec<PreviewRow>,
}

impl Preview {
    pub fn of<S: Dataset + ?Sized>(dataset: &S, n: usize) -> Preview {
        let shape = dataset.item_shape();
        let classes = dataset.classes();
        let rows = (0..n.min(dataset.len()))
            .map(|index| {
                let sample = dataset.get(index);
                PreviewRow {
                    index,
                    shape: shape.clone(),
                    kind: match sample.input {
                        Input::Features(_) => "f32",
                        Input::Tokens(_) => "token ids",
                    },
                    label: sample.label,
                    class: classes.get(sample.label).cloned(),
                }
            })
            .collect();
        Preview {
            total: dataset.len(),
            rows,
        }
    }
}

impl fmt::Display for Preview {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cells: Vec<[String; 4]> = self
            .rows
            .iter()
            .map(|r| {
                let dims: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
                let label = match &r.class {
                    Some(name) if name != &r.label.to_string() => format!("{} ({name})", r.label),
                    _ => r.label.to_string(),
                };
                [
                    r.index.to_string(),
                    format!("({})", dims.join(", ")),
                    r.kind.to_string(),
                    label,
                ]
            })
            .collect();
        let header = ["index", "shape", "input", "label"];
        let mut widths = header.map(str::len);
        for row in &cells {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |f: &mut fmt::Formatter<'_>, row: [&str; 4]| -> fmt::Result {
            let padded: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
            writeln!(f, "{}", padded.join(" | ").trim_end())
        };
        line(f, header)?;
        let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
        writeln!(f, "{}", rule.join("-+-"))?;
        for row in &cells {
            line(f, [&row[0], &row[1], &row[2], &row[3]])?;
        }
        write!(f, "{} of {} items", self.rows.len(), self.total)
    }
}

impl Preview {
    /// The table as HTML, for notebooks.
    pub fn to_html(&self) -> String {
        let mut html = format!("<table><caption>{} items</caption>\n", self.total);
        html += "<tr><th>index</th><th>shape</th><th>input</th><th>label</th></tr>\n";
        for r in &self.rows {
            let dims: Vec<String> = r.shape.iter().map(|d| d.to_string()).collect();
            let class = r
                .class
                .as_deref()
                .map(|c| format!(" ({})", escape(c)))
                .unwrap_or_default();
            html += &format!(
                "<tr><td>{}</td><td>({})</td><td>{}</td><td>{}{class}</td></tr>\n",
                r.index,
                dims.join(", "),
                r.kind,
                r.label
            );
        }
        html + "</table>"
    }

    /// Shows the preview as a cell's result in evcxr.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_print(&crate::display::Displayable::mime_bundle(self));
    }
}

impl crate::display::Displayable for Preview {
    fn mime_bundle(&self) -> crate::display::MimeBundle {
        use crate::display::{mime, MimeBundle};
        MimeBundle::new()
            .with(mime::HTML, self.to_html())
            .with(mime::PLAIN, self.to_string())
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use crate::data::dataset::{Dataset, FeatureSet};

    #[test]
    fn preview_lists_shape_and_label_of_first_items() {
        let ds = FeatureSet::new(
            vec![0.0; 12],
            vec![1, 2, 2],
            vec![1, 0, 1],
            vec!["cat".into(), "dog".into()],
        )
        .unwrap();
        let p = ds.preview(2);
        assert_eq!(p.rows.len(), 2);
        let text = p.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "index | shape     | input | label");
        assert_eq!(lines[2], "0     | (1, 2, 2) | f32   | 1 (dog)");
        assert_eq!(lines[3], "1     | (1, 2, 2) | f32   | 0 (cat)");
        assert_eq!(lines[4], "2 of 3 items");
        assert_eq!(ds.preview(10).rows.len(), 3);
    }
}
