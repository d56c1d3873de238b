//! The display marker: one stdout line that carries a rich display out of a running cell.
//!
//! # Specification
//!
//! A marker is a single line of UTF-8 text written to the runtime's stdout:
//!
//! ```text
//! FERROLAB_DISPLAY {"id":"<id>","update":<bool>,"data":{"<mime>":"<content>",...}}\n
//! ```
//!
//! - **Prefix**: exactly `FERROLAB_DISPLAY` followed by one space ([`MARKER_PREFIX`]),
//!   at the start of the line.
//! - **Payload**: the rest of the line is one compact JSON object. JSON escapes newlines and
//!   other control characters inside strings, so the payload never contains a raw `\n` or
//!   `\r`; the line ends with `\n` (a trailing `\r\n` is also accepted by the parser).
//!   Non-ASCII text appears as raw UTF-8.
//! - **Fields** (writers emit exactly these, in this order; readers ignore unknown ones):
//!   - `id` (string): names the display area. Unique within the runtime process: the
//!     writer uses process id, a start time and a counter. Many displays in one cell each
//!     get their own id and their own line.
//!   - `update` (bool): `false` opens a new display area with this id (Jupyter
//!     `display_data` with `transient.display_id`); `true` replaces the content of the
//!     area opened earlier with the same id (Jupyter `update_display_data`). A front end that
//!     has not seen the id may show an update as a new display.
//!   - `data` (object): MIME type → content, in the order the writer chose (richest first,
//!     `text/plain` last). Content is a string; binary types (`image/png`) are base64
//!     without line breaks. Plots send `image/svg+xml`, `image/png` and `text/plain`
//!     (terminal text art).
//! - **Malformed lines**: a line with the prefix whose payload does not parse as this
//!   object is ordinary output and is shown as text.
//! - **Mid-line markers**: the writer emits a marker as one whole line in one write, but
//!   if the cell printed a partial line just before, the prefix follows that text on the
//!   same line; [`split_marker`] separates the two.
//!
//! The last value of a cell does not use this marker: it goes through evcxr's own
//! `EVCXR_BEGIN_CONTENT` blocks (see [`evcxr_print`](super::evcxr_print)).

use serde::{Deserialize, Serialize};

use super::MimeBundle;

/// What starts every marker line.
pub const MARKER_PREFIX: &str = "FERROLAB_DISPLAY ";

/// One display or update, as carried by a marker line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisplayMessage {
    pub id: String,
    pub update: bool,
    pub data: MimeBundle,
}

impl DisplayMessage {
    /// The marker line for this message, ending in `\n`.
    pub fn to_line(&self) -> String {
        // Serialising strings and bools into a String cannot fail.
        let json = serde_json::to_string(self).expect("marker JSON");
        format!("{MARKER_PREFIX}{json}\n")
    }
}

/// Reads a marker line (with or without its line ending); `None` for any other line.
///
/// ```
/// use ferrolab::display::{parse_marker, DisplayMessage, MimeBundle};
/// let msg = DisplayMessage {
///     id: "a1".into(),
///     update: false,
///     data: MimeBundle::new().with("text/plain", "hi\nthere"),
/// };
/// assert_eq!(parse_marker(&msg.to_line()), Some(msg));
/// assert_eq!(parse_marker("hello"), None);
/// ```
pub fn parse_marker(line: &str) -> Option<DisplayMessage> {
    let line = line.strip_suffix('\n').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let payload = line.strip_prefix(MARKER_PREFIX)?;
    serde_json::from_str(payload).ok()
}

/// Finds a marker anywhere in `line`: the text before it and the message.
///
/// ```
/// use ferrolab::display::{split_marker, DisplayMessage, MimeBundle};
/// let msg = DisplayMessage { id: "x".into(), update: true, data: MimeBundle::new() };
/// let line = format!("epoch 3 {}", msg.to_line());
/// assert_eq!(split_marker(&line), Some(("epoch 3 ", msg)));
/// ```
pub fn split_marker(line: &str) -> Option<(&str, DisplayMessage)> {
    let at = line.find(MARKER_PREFIX)?;
    let msg = parse_marker(&line[at..])?;
    Some((&line[..at], msg))
}
