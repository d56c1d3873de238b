//! [`MimeBundle`]: an ordered map from MIME type to content, plus small ready bundles.
//!
//! Order is kept as inserted (richest first by convention) and survives JSON round trips.
//! Content is text; binary formats are base64. It does not validate MIME types.

use std::fmt;

use base64::Engine as _;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::plot::Plot;

/// MIME type names used across the crate and the front ends.
pub mod mime {
    pub const SVG: &str = "image/svg+xml";
    pub const PNG: &str = "image/png";
    pub const HTML: &str = "text/html";
    pub const PLAIN: &str = "text/plain";
    /// A [`Progress`](crate::display::Progress) as JSON, for front ends that draw their own
    /// bar (the terminal REPL draws it with indicatif).
    pub const PROGRESS: &str = "application/vnd.ferrolab.progress+json";
}

/// MIME type → content, in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MimeBundle {
    entries: Vec<(String, String)>,
}

impl MimeBundle {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `mime`'s content, keeping its place if it was already there.
    pub fn insert(&mut self, mime: impl Into<String>, content: impl Into<String>) {
        let (mime, content) = (mime.into(), content.into());
        match self.entries.iter_mut().find(|(m, _)| *m == mime) {
            Some(entry) => entry.1 = content,
            None => self.entries.push((mime, content)),
        }
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(mut self, mime: impl Into<String>, content: impl Into<String>) -> Self {
        self.insert(mime, content);
        self
    }

    /// Adds PNG bytes, base64-encoded as Jupyter expects.
    pub fn with_png(self, png: &[u8]) -> Self {
        self.with(mime::PNG, base64::engine::general_purpose::STANDARD.encode(png))
    }

    pub fn get(&self, mime: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(m, _)| m == mime)
            .map(|(_, c)| c.as_str())
    }

    /// The decoded `image/png` bytes, if present and valid base64.
    pub fn png_bytes(&self) -> Option<Vec<u8>> {
        let b64 = self.get(mime::PNG)?;
        base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(m, c)| (m.as_str(), c.as_str()))
    }

    pub fn mimes(&self) -> Vec<&str> {
        self.entries.iter().map(|(m, _)| m.as_str()).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// A plot's bundle: SVG and PNG at its preferred size, and its default-width text art.
    pub fn from_plot<P: Plot + ?Sized>(plot: &P) -> Self {
        let (w, h) = plot.size();
        MimeBundle::new()
            .with(mime::SVG, plot.svg(w, h))
            .with_png(&plot.png(w, h))
            .with(mime::PLAIN, plot.to_text())
    }

    /// Shows the bundle as a cell's result in evcxr.
    pub fn evcxr_display(&self) {
        super::evcxr_print(self);
    }
}

impl Serialize for MimeBundle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.entries.len()))?;
        for (mime, content) in &self.entries {
            map.serialize_entry(mime, content)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for MimeBundle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BundleVisitor)
    }
}

/// Reads a JSON object in document order; non-string values (e.g. `application/json`
/// content) are kept as their compact JSON text.
struct BundleVisitor;

impl<'de> Visitor<'de> for BundleVisitor {
    type Value = MimeBundle;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object mapping MIME types to content")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<MimeBundle, A::Error> {
        let mut bundle = MimeBundle::new();
        while let Some((mime, value)) = access.next_entry::<String, serde_json::Value>()? {
            let content = match value {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            bundle.insert(mime, content);
        }
        Ok(bundle)
    }
}

/// An HTML snippet to display (e.g. a table); `text/plain` carries the same source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Html(pub String);

impl super::Displayable for Html {
    fn mime_bundle(&self) -> MimeBundle {
        MimeBundle::new()
            .with(mime::HTML, self.0.clone())
            .with(mime::PLAIN, self.0.clone())
    }
}

impl Html {
    /// Shows the HTML as a cell's result in evcxr.
    pub fn evcxr_display(&self) {
        super::evcxr_print(&super::Displayable::mime_bundle(self));
    }
}
