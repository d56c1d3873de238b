//! Keras-style model summaries: each layer's name, output shape and parameter count, and totals.
//!
//! A [`Summary`] is plain data built by walking a model's layers with their shape rules
//! ([`OutputShape`]); it renders as Keras's text table (`Display`) and as an HTML table.
//! The batch dimension prints as `None`, as in Keras.

use crate::nn::OutputShape;
use crate::Result;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryRow {
    /// e.g. `conv2d_1 (Conv2D)`.
    pub layer: String,
    /// Output shape without the batch dimension.
    pub output: Vec<usize>,
    pub params: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub model: String,
    /// Input shape without the batch dimension.
    pub input: Vec<usize>,
    pub rows: Vec<SummaryRow>,
}

impl Summary {
    pub fn total_params(&self) -> usize {
        self.rows.iter().map(|r| r.params).sum()
    }

    /// The table as HTML, for notebooks.
    pub fn to_html(&self) -> String {
        let mut html = format!(
            "<table><caption>Model: \"{}\"</caption>\n<tr><th>Layer (type)</th><th>Output Shape</th><th>Param #</th></tr>\n",
            escape(&self.model)
        );
        for r in &self.rows {
            html += &format!(
                "<tr><td>{}</td><td>{}</td><td style=\"text-align:right\">{}</td></tr>\n",
                escape(&r.layer),
                shape_text(&r.output),
                thousands(r.params)
            );
        }
        html += &format!(
            "<tr><th colspan=\"2\">Total params</th><th style=\"text-align:right\">{}</th></tr>\n</table>",
            thousands(self.total_params())
        );
        html
    }
}

impl crate::display::Displayable for Summary {
    /// The HTML table for notebooks, the text table for terminals.
    fn mime_bundle(&self) -> crate::display::MimeBundle {
        use crate::display::{mime, MimeBundle};
        MimeBundle::new()
            .with(mime::HTML, self.to_html())
            .with(mime::PLAIN, self.to_string())
    }
}

impl Summary {
    /// Shows the summary as a cell's result in evcxr.
    pub fn evcxr_display(&self) {
        crate::display::evcxr_print(&crate::display::Displayable::mime_bundle(self));
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = 70;
        let line = |c: &str| c.repeat(width);
        writeln!(f, "Model: \"{}\"", self.model)?;
        writeln!(f, "{}", line("_"))?;
        writeln!(f, " {:<33}{:<26}Param #", "Layer (type)", "Output Shape")?;
        writeln!(f, "{}", line("="))?;
        for (i, r) in self.rows.iter().enumerate() {
            writeln!(
                f,
                " {:<33}{:<26}{}",
                format!("{} ", r.layer),
                shape_text(&r.output),
                thousands(r.params)
            )?;
            if i + 1 < self.rows.len() {
                writeln!(f)?;
            }
        }
        writeln!(f, "{}", line("="))?;
        writeln!(f, "Total params: {}", thousands(self.total_params()))?;
        writeln!(f, "Trainable params: {}", thousands(self.total_params()))?;
        writeln!(f, "Non-trainable params: 0")?;
        write!(f, "{}", line("_"))
    }
}

/// Builds a [`Summary`] layer by layer, carrying the output shape of each into the next.
pub struct SummaryBuilder {
    summary: Summary,
    shape: Vec<usize>,
}

impl SummaryBuilder {
    /// `input` is one sample's shape; a batch of 1 stands in for `None` while shapes are computed.
    pub fn new(model: &str, input: &[usize]) -> Self {
        let mut shape = vec![1];
        shape.extend_from_slice(input);
        Self {
            summary: Summary {
                model: model.into(),
                input: input.to_vec(),
                rows: Vec::new(),
            },
            shape,
        }
    }

    /// Adds a layer: `name` like `conv2d`, `kind` like `Conv2D`.
    pub fn layer(mut self, name: &str, kind: &str, layer: &dyn OutputShape, params: usize) -> Result<Self> {
        self.shape = layer.output_shape(&self.shape)?;
        self.summary.rows.push(SummaryRow {
            layer: format!("{name} ({kind})"),
            output: self.shape[1..].to_vec(),
            params,
        });
        Ok(self)
    }

    /// Adds a layer whose output shape is given rather than computed (e.g. a [CLS] pooling step).
    pub fn layer_with_shape(mut self, name: &str, kind: &str, output: &[usize], params: usize) -> Self {
        self.shape = [&[1], output].concat();
        self.summary.rows.push(SummaryRow {
            layer: format!("{name} ({kind})"),
            output: output.to_vec(),
            params,
        });
        self
    }

    pub fn build(self) -> Summary {
        self.summary
    }
}

fn shape_text(dims: &[usize]) -> String {
    let dims: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("(None, {})", dims.join(", "))
}

/// `34826` -> `34,826`, as Keras prints counts.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::thousands;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(34826), "34,826");
        assert_eq!(thousands(109482240), "109,482,240");
    }
}
