//! Typed contents of the messages this kernel reads and writes (Jupyter
//! messaging 5.3), as serde structs.
//!
//! Requests use serde defaults for optional fields so that older or sparse
//! clients still parse; a wrong type in a required field is a decode error the
//! handler turns into an error reply. Only the messages the kernel implements
//! are here: no debug, no comm_open/comm_msg, no input_request yet.

use crate::engine::{Bundle, LanguageInfo};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

fn yes() -> bool {
    true
}

// ---- requests ----

// Some fields are parsed only so that a wrong type is reported; the kernel
// does not act on them yet (see the handlers' limits).
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
pub struct ExecuteRequest {
    pub code: String,
    #[serde(default)]
    pub silent: bool,
    #[serde(default = "yes")]
    pub store_history: bool,
    #[serde(default)]
    pub user_expressions: Map<String, Value>,
    #[serde(default)]
    pub allow_stdin: bool,
    #[serde(default = "yes")]
    pub stop_on_error: bool,
}

#[derive(Debug, Deserialize)]
pub struct IsCompleteRequest {
    pub code: String,
}

#[derive(Debug, Deserialize)]
pub struct CompleteRequest {
    pub code: String,
    pub cursor_pos: usize,
}

#[derive(Debug, Deserialize)]
pub struct InspectRequest {
    pub code: String,
    pub cursor_pos: usize,
    #[serde(default)]
    pub detail_level: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HistAccess {
    Range,
    Tail,
    Search,
}

// Some fields are parsed only so that a wrong type is reported; the kernel
// does not act on them yet (see the handlers' limits).
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
pub struct HistoryRequest {
    #[serde(default)]
    pub output: bool,
    #[serde(default)]
    pub raw: bool,
    pub hist_access_type: HistAccess,
    #[serde(default)]
    pub session: i64,
    #[serde(default)]
    pub start: i64,
    #[serde(default)]
    pub stop: Option<i64>,
    #[serde(default)]
    pub n: Option<usize>,
    #[serde(default)]
    pub pattern: Option<String>,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Deserialize)]
pub struct ShutdownRequest {
    #[serde(default)]
    pub restart: bool,
}

// Some fields are parsed only so that a wrong type is reported; the kernel
// does not act on them yet (see the handlers' limits).
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
pub struct CommInfoRequest {
    #[serde(default)]
    pub target_name: Option<String>,
}

// ---- replies ----

/// The error part of a reply whose status is `error`.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorContent {
    pub ename: String,
    pub evalue: String,
    pub traceback: Vec<String>,
}

/// A reply that only reports failure; used for malformed or unknown requests.
#[derive(Debug, Serialize)]
pub struct ErrorReply {
    pub status: &'static str,
    #[serde(flatten)]
    pub error: ErrorContent,
}

impl ErrorReply {
    pub fn new(ename: &str, evalue: impl Into<String>) -> Self {
        let evalue = evalue.into();
        Self {
            status: "error",
            error: ErrorContent {
                ename: ename.into(),
                traceback: vec![format!("{ename}: {evalue}")],
                evalue,
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct HelpLink {
    pub text: String,
    pub url: String,
}

#[derive(Debug, Serialize)]
pub struct KernelInfoReply {
    pub status: &'static str,
    pub protocol_version: &'static str,
    pub implementation: String,
    pub implementation_version: String,
    pub language_info: LanguageInfo,
    pub banner: String,
    pub help_links: Vec<HelpLink>,
    pub debugger: bool,
}

#[derive(Debug, Serialize)]
pub struct ExecuteReply {
    pub status: &'static str,
    pub execution_count: u32,
    #[serde(flatten)]
    pub error: Option<ErrorContent>,
    pub user_expressions: Map<String, Value>,
    pub payload: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct IsCompleteReply {
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indent: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct CompleteReply {
    pub status: &'static str,
    pub matches: Vec<String>,
    pub cursor_start: usize,
    pub cursor_end: usize,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct InspectReply {
    pub status: &'static str,
    pub found: bool,
    pub data: Bundle,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct HistoryReply {
    pub status: &'static str,
    pub history: Vec<Value>,
}

#[derive(Debug, Serialize)]
pub struct CommInfoReply {
    pub status: &'static str,
    pub comms: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct ShutdownReply {
    pub status: &'static str,
    pub restart: bool,
}

#[derive(Debug, Serialize)]
pub struct StatusReply {
    pub status: &'static str,
}

// ---- IOPub ----

#[derive(Debug, Serialize)]
pub struct Status {
    pub execution_state: &'static str,
}

#[derive(Debug, Serialize)]
pub struct ExecuteInput<'a> {
    pub code: &'a str,
    pub execution_count: u32,
}

#[derive(Debug, Serialize)]
pub struct Stream {
    pub name: String,
    pub text: String,
}

/// `display_data` and `update_display_data`.
#[derive(Debug, Serialize)]
pub struct DisplayData {
    pub data: Bundle,
    pub metadata: Map<String, Value>,
    pub transient: Transient,
}

#[derive(Debug, Default, Serialize)]
pub struct Transient {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_id: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ExecuteResult {
    pub execution_count: u32,
    pub data: Bundle,
    pub metadata: Map<String, Value>,
}

#[derive(Debug, Serialize)]
pub struct ClearOutput {
    pub wait: bool,
}
