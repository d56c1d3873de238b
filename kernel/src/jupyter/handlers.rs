//! Turns one incoming shell or control message into its reply and IOPub
//! traffic, driving the [`Engine`].
//!
//! [`dispatch`] owns the rules every request obeys: the signature is checked
//! first (forged or unsigned input is logged and dropped, never handled),
//! status `busy` is published before and `idle` after every request, and a
//! request that cannot be decoded still gets an error reply when its header
//! names a `*_request` type. Execution counts and history live here, not in
//! the engine. After a cell fails with `stop_on_error`, the execute requests already
//! queued are answered `aborted` unrun before the failed cell's idle, as ipykernel does. Not handled: stdin (`input_request`), comms beyond an empty
//! `comm_info`, `user_expressions` (always answered empty), debug requests.

use super::history::History;
use super::messages::*;
use super::wire::{Message, Signer, WireError, PROTOCOL_VERSION};
use crate::engine::{Bundle, Completeness, Engine, Event};
use crate::sync::lock;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

/// The channel a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Shell,
    Control,
}

/// What the IOPub thread is asked to do.
pub enum Outgoing {
    Publish(Box<Message>),
    /// Answered once everything queued before it has been sent on the IOPub socket.
    Flushed(mpsc::Sender<()>),
    /// Sent once every request thread has stopped, so nothing is cut off.
    Stop,
}

/// State shared by the shell and control threads.
pub struct Kernel {
    pub engine: Box<dyn Engine>,
    pub signer: Signer,
    /// This kernel process's session id, used in every header it sends.
    pub session: String,
    iopub: Mutex<mpsc::Sender<Outgoing>>,
    execution_count: Mutex<u32>,
    history: Mutex<History>,
    shutting_down: AtomicBool,
    /// A cell failed with `stop_on_error`: queued execute requests are aborted.
    aborting: AtomicBool,
}

impl Kernel {
    pub fn new(
        engine: Box<dyn Engine>,
        signer: Signer,
        iopub: mpsc::Sender<Outgoing>,
        history: History,
    ) -> Self {
        Self {
            engine,
            signer,
            session: uuid::Uuid::new_v4().to_string(),
            iopub: Mutex::new(iopub),
            execution_count: Mutex::new(0),
            history: Mutex::new(history),
            shutting_down: AtomicBool::new(false),
            aborting: AtomicBool::new(false),
        }
    }

    /// Whether execute requests are being aborted after a failed cell.
    pub fn aborting(&self) -> bool {
        self.aborting.load(Ordering::SeqCst)
    }

    fn stop_aborting(&self) {
        self.aborting.store(false, Ordering::SeqCst);
    }

    pub fn shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    /// Stops the running cell and the engine; the socket threads see the flag and return.
    pub fn shut_down(&self, restart: bool) {
        self.engine.interrupt();
        self.engine.shutdown(restart);
        self.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Publishes `content` as `msg_type` on IOPub, as a child of `parent`.
    pub fn publish(&self, parent: &Message, msg_type: &str, content: impl Serialize) {
        let content = serde_json::to_value(content).unwrap_or_default();
        let mut msg = Message::child(parent, msg_type, content, &self.session);
        msg.ids = vec![format!("kernel.{}.{}", self.session, msg_type).into_bytes()];
        // A send error means the IOPub thread is gone, i.e. we are exiting.
        let _ = lock(&self.iopub).send(Outgoing::Publish(Box::new(msg)));
    }

    /// Waits (at most a second) until everything published so far is on the IOPub socket.
    ///
    /// Publishing goes through a queue and two threads, while a reply goes straight out on
    /// its socket: on a loaded machine an execute_reply could overtake the cell's last
    /// outputs, and `jupyter console`, which stops reading IOPub at the reply, then showed
    /// them only under the next cell.
    fn flush_iopub(&self) {
        let (ack, acked) = mpsc::channel();
        if lock(&self.iopub).send(Outgoing::Flushed(ack)).is_ok() {
            let _ = acked.recv_timeout(std::time::Duration::from_secs(1));
        }
    }

    fn status(&self, parent: &Message, state: &'static str) {
        self.publish(
            parent,
            "status",
            Status {
                execution_state: state,
            },
        );
    }
}

/// Handles one multipart message from `channel`, sending any reply through
/// `reply`. Never panics on bad input.
pub fn dispatch(kernel: &Kernel, channel: Channel, frames: Vec<Vec<u8>>, reply: &mut dyn FnMut(Message)) {
    dispatch_queued(kernel, channel, frames, reply, &mut || None);
}

/// [`dispatch`], with `queued` handing out the requests already waiting on the socket:
/// after a cell fails with `stop_on_error` they are answered (execute requests aborted)
/// before this request's idle, so a client that sends the next cell on idle finds it run.
pub fn dispatch_queued(
    kernel: &Kernel,
    channel: Channel,
    frames: Vec<Vec<u8>>,
    reply: &mut dyn FnMut(Message),
    queued: &mut dyn FnMut() -> Option<Vec<Vec<u8>>>,
) {
    let msg = match Message::decode(frames, &kernel.signer) {
        Ok(msg) => msg,
        Err(WireError::BadPart {
            ids,
            header,
            part,
            error,
        }) => {
            elog!(
                "ferrolab kernel: malformed {} on {channel:?}: {part}: {error}",
                header.msg_type
            );
            let msg = Message {
                ids,
                header: *header,
                parent_header: Value::Object(Map::new()),
                metadata: Map::new(),
                content: Value::Object(Map::new()),
                buffers: Vec::new(),
            };
            let error = ErrorReply::new("MalformedMessage", format!("{part}: {error}"));
            around(kernel, &msg, reply, |_| Some(to_value(error)));
            return;
        }
        Err(e) => {
            // Includes forged and unsigned messages: say so, and do nothing.
            elog!("ferrolab kernel: dropped message on {channel:?}: {e}");
            return;
        }
    };
    let reply = &mut |m: Message| reply(m);
    around_then(kernel, &msg, reply, queued, |msg| {
        // A panicking engine or handler must not take the socket thread down:
        // the request fails, the kernel keeps serving.
        let handled = std::panic::catch_unwind(AssertUnwindSafe(|| handle(kernel, channel, msg)));
        match handled {
            Ok(Ok(content)) => content,
            Ok(Err(error)) => Some(to_value(error)),
            Err(_) => Some(to_value(ErrorReply::new(
                "InternalError",
                "the kernel panicked while handling this request",
            ))),
        }
    });
}

/// Publishes busy, runs `body`, sends its reply (if any), publishes idle.
fn around(
    kernel: &Kernel,
    msg: &Message,
    reply: &mut dyn FnMut(Message),
    body: impl FnOnce(&Message) -> Option<Value>,
) {
    around_then(kernel, msg, reply, &mut || None, body)
}

/// [`around`]; when the request started aborting, answers the `queued` requests before idle.
fn around_then(
    kernel: &Kernel,
    msg: &Message,
    reply: &mut dyn FnMut(Message),
    queued: &mut dyn FnMut() -> Option<Vec<Vec<u8>>>,
    body: impl FnOnce(&Message) -> Option<Value>,
) {
    kernel.status(msg, "busy");
    let was_aborting = kernel.aborting();
    let content = body(msg);
    let msg_type = &msg.header.msg_type;
    match (content, msg_type.strip_suffix("_request")) {
        (Some(content), Some(stem)) => {
            let reply_type = format!("{stem}_reply");
            if msg_type == "shutdown_request" {
                // Clients may only watch IOPub for this one (spec 5.x).
                kernel.publish(msg, &reply_type, &content);
            }
            if msg_type == "execute_request" {
                kernel.flush_iopub(); // the cell's outputs go out before its reply
            }
            reply(Message::child(msg, &reply_type, content, &kernel.session));
        }
        (Some(_), None) => elog!("ferrolab kernel: not replying to non-request {msg_type}"),
        (None, _) => {}
    }
    // This request failed a cell with stop_on_error (the queued ones it aborts come here
    // already aborting).
    if !was_aborting && kernel.aborting() {
        while let Some(frames) = queued() {
            dispatch(kernel, Channel::Shell, frames, reply);
        }
        kernel.stop_aborting();
    }
    kernel.status(msg, "idle");
}

fn to_value(content: impl Serialize) -> Value {
    serde_json::to_value(content).unwrap_or_default()
}

/// Decodes a request's content into its typed form.
fn parse<T: DeserializeOwned>(msg: &Message) -> Result<T, ErrorReply> {
    T::deserialize(&msg.content).map_err(|e| ErrorReply::new("MalformedMessage", format!("content: {e}")))
}

/// The reply content for one decoded request; `Ok(None)` for messages that
/// take no reply.
fn handle(kernel: &Kernel, channel: Channel, msg: &Message) -> Result<Option<Value>, ErrorReply> {
    let content = match msg.header.msg_type.as_str() {
        "kernel_info_request" => to_value(kernel_info(kernel)),
        "execute_request" if channel == Channel::Control => {
            return Err(ErrorReply::new(
                "WrongChannel",
                "execute_request belongs on the shell channel",
            ));
        }
        "execute_request" => to_value(execute(kernel, msg, parse(msg)?)),
        "is_complete_request" => {
            let req: IsCompleteRequest = parse(msg)?;
            to_value(match kernel.engine.is_complete(&req.code) {
                Completeness::Complete => IsCompleteReply {
                    status: "complete",
                    indent: None,
                },
                Completeness::Incomplete(indent) => IsCompleteReply {
                    status: "incomplete",
                    indent: Some(indent),
                },
                Completeness::Invalid => IsCompleteReply {
                    status: "invalid",
                    indent: None,
                },
            })
        }
        "complete_request" => {
            let req: CompleteRequest = parse(msg)?;
            let c = kernel.engine.complete(&req.code, req.cursor_pos);
            to_value(CompleteReply {
                status: "ok",
                matches: c.matches,
                cursor_start: c.cursor_start,
                cursor_end: c.cursor_end,
                metadata: Map::new(),
            })
        }
        "inspect_request" => {
            let req: InspectRequest = parse(msg)?;
            let data = kernel.engine.inspect(&req.code, req.cursor_pos, req.detail_level);
            to_value(InspectReply {
                status: "ok",
                found: data.is_some(),
                data: data.unwrap_or_default(),
                metadata: Map::new(),
            })
        }
        "history_request" => {
            let req: HistoryRequest = parse(msg)?;
            let history = lock(&kernel.history).query(&req);
            to_value(HistoryReply {
                status: "ok",
                history,
            })
        }
        "comm_info_request" => {
            let _: CommInfoRequest = parse(msg)?;
            to_value(CommInfoReply {
                status: "ok",
                comms: Map::new(),
            })
        }
        "interrupt_request" => {
            kernel.engine.interrupt();
            to_value(StatusReply { status: "ok" })
        }
        "shutdown_request" => {
            let req: ShutdownRequest = parse(msg)?;
            kernel.shut_down(req.restart);
            to_value(ShutdownReply {
                status: "ok",
                restart: req.restart,
            })
        }
        other if other.ends_with("_request") => {
            return Err(ErrorReply::new(
                "UnknownMessageType",
                format!("`{other}` is not supported"),
            ));
        }
        other => {
            // comm_open/comm_msg/comm_close and stray replies: nothing to do.
            elog!("ferrolab kernel: ignoring {other} on {channel:?}");
            return Ok(None);
        }
    };
    Ok(Some(content))
}

fn kernel_info(kernel: &Kernel) -> KernelInfoReply {
    let info = kernel.engine.info();
    KernelInfoReply {
        status: "ok",
        protocol_version: PROTOCOL_VERSION,
        implementation: info.implementation,
        implementation_version: info.implementation_version,
        language_info: info.language_info,
        banner: info.banner,
        help_links: info
            .help_links
            .into_iter()
            .map(|(text, url)| HelpLink { text, url })
            .collect(),
        debugger: false,
    }
}

/// Runs a cell: execute_input, the cell's outputs as they come, the reply.
fn execute(kernel: &Kernel, msg: &Message, req: ExecuteRequest) -> ExecuteReply {
    if kernel.aborting() {
        return ExecuteReply {
            status: "aborted",
            execution_count: *lock(&kernel.execution_count),
            error: None,
            user_expressions: Map::new(),
            payload: Vec::new(),
        };
    }
    let silent = req.silent;
    // Silent cells never enter the history (spec: silent implies !store_history).
    let store = req.store_history && !silent;
    let count = {
        let mut count = lock(&kernel.execution_count);
        if store {
            *count += 1;
        }
        *count
    };
    if !silent {
        kernel.publish(
            msg,
            "execute_input",
            ExecuteInput {
                code: &req.code,
                execution_count: count,
            },
        );
    }
    let mut error = None;
    let mut output = None;
    let mut payload = Vec::new();
    crate::engine::execute_cell(kernel.engine.as_ref(), &req.code, &mut |event| {
        let publish = |msg_type: &str, content: Value| {
            if !silent {
                kernel.publish(msg, msg_type, content);
            }
        };
        match event {
            Event::Stream { name, text } => publish("stream", to_value(Stream { name, text })),
            Event::Display { id, bundle } => publish(
                "display_data",
                to_value(DisplayData {
                    data: json_as_json(bundle),
                    metadata: Map::new(),
                    transient: Transient { display_id: id },
                }),
            ),
            Event::UpdateDisplay { id, bundle } => publish(
                "update_display_data",
                to_value(DisplayData {
                    data: json_as_json(bundle),
                    metadata: Map::new(),
                    transient: Transient { display_id: Some(id) },
                }),
            ),
            Event::Result(bundle) => {
                output = bundle
                    .get("text/plain")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                publish(
                    "execute_result",
                    to_value(ExecuteResult {
                        execution_count: count,
                        data: json_as_json(bundle),
                        metadata: Map::new(),
                    }),
                );
            }
            Event::Error {
                ename,
                evalue,
                traceback,
            } => {
                let content = ErrorContent {
                    ename,
                    evalue,
                    traceback,
                };
                publish("error", to_value(&content));
                error = Some(content);
            }
            Event::ClearOutput { wait } => publish("clear_output", to_value(ClearOutput { wait })),
            Event::Page(bundle) => payload.push(json!({ "source": "page", "data": bundle, "start": 0 })),
        }
    });
    if store {
        lock(&kernel.history).record(count, &req.code, output);
    }
    if error.is_some() && req.stop_on_error {
        kernel.aborting.store(true, Ordering::SeqCst);
    }
    ExecuteReply {
        status: if error.is_some() { "error" } else { "ok" },
        execution_count: count,
        error,
        user_expressions: Map::new(),
        payload,
    }
}

/// Jupyter keeps JSON MIME types (`application/json`, `…+json`) as JSON, not as text: the
/// engine's bundles carry every content as a string, so such content is parsed here.
fn json_as_json(bundle: Bundle) -> Bundle {
    bundle
        .into_iter()
        .map(|(mime, content)| {
            let is_json = mime == "application/json" || mime.ends_with("+json");
            match content {
                Value::String(text) if is_json => {
                    let parsed = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    (mime, parsed)
                }
                other => (mime, other),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::mock::MockEngine;
    use crate::engine::{Bundle, Completions, EngineInfo};
    use serde_json::json;
    use std::sync::Arc;

    #[test]
    fn json_mime_types_are_sent_as_json() {
        let mut bundle = Bundle::new();
        bundle.insert("text/plain".into(), json!("{\"a\":1}"));
        bundle.insert(
            "application/vnd.ferrolab.check+json".into(),
            json!("{\"verdict\":\"correct\"}"),
        );
        bundle.insert("application/json".into(), json!("not json"));
        let data = json_as_json(bundle);
        assert_eq!(data["text/plain"], json!("{\"a\":1}"));
        assert_eq!(
            data["application/vnd.ferrolab.check+json"],
            json!({"verdict": "correct"})
        );
        assert_eq!(
            data["application/json"],
            json!("not json"),
            "unparsable content stays text"
        );
    }

    /// An engine whose every cell panics, as a buggy engine might.
    struct PanickingEngine(MockEngine);

    impl Engine for PanickingEngine {
        fn execute(&self, _: &str, _: &mut dyn FnMut(Event)) {
            panic!("engine bug");
        }
        fn is_complete(&self, code: &str) -> Completeness {
            self.0.is_complete(code)
        }
        fn complete(&self, code: &str, cursor: usize) -> Completions {
            self.0.complete(code, cursor)
        }
        fn inspect(&self, code: &str, cursor: usize, level: u8) -> Option<Bundle> {
            self.0.inspect(code, cursor, level)
        }
        fn interrupt(&self) {}
        fn info(&self) -> EngineInfo {
            self.0.info()
        }
        fn shutdown(&self, _: bool) {}
    }

    fn request(signer: &Signer, msg_type: &str, content: Value) -> Vec<Vec<u8>> {
        let msg = Message {
            ids: vec![b"client".to_vec()],
            header: super::super::wire::Header::new(msg_type, "client-session"),
            parent_header: json!({}),
            metadata: Map::new(),
            content,
            buffers: vec![],
        };
        msg.encode(signer)
    }

    /// Dispatches one request; returns the replies and the IOPub message types.
    fn run(
        kernel: &Kernel,
        rx: &mpsc::Receiver<Outgoing>,
        frames: Vec<Vec<u8>>,
    ) -> (Vec<Message>, Vec<String>) {
        let mut replies = Vec::new();
        dispatch(kernel, Channel::Shell, frames, &mut |m| replies.push(m));
        let published = rx
            .try_iter()
            .map(|o| match o {
                Outgoing::Publish(m) => m.header.msg_type,
                Outgoing::Flushed(_) => "flushed".into(),
                Outgoing::Stop => "stop".into(),
            })
            .collect();
        (replies, published)
    }

    #[test]
    fn a_panicking_engine_gets_an_error_reply_and_the_kernel_goes_on() {
        let signer = Signer::new("key");
        let (tx, rx) = mpsc::channel();
        let engine = Box::new(PanickingEngine(MockEngine::new()));
        let kernel = Kernel::new(engine, signer.clone(), tx, History::open_at(None));
        let (replies, published) = run(
            &kernel,
            &rx,
            request(&signer, "execute_request", json!({"code": "1"})),
        );
        assert_eq!(replies[0].header.msg_type, "execute_reply");
        assert_eq!(replies[0].content["ename"], "InternalError");
        assert_eq!(published.first().map(String::as_str), Some("status"));
        assert_eq!(published.last().map(String::as_str), Some("status"));
        assert_eq!(replies[0].ids, vec![b"client".to_vec()]);

        let (replies, _) = run(
            &kernel,
            &rx,
            request(&signer, "is_complete_request", json!({"code": "{"})),
        );
        assert_eq!(
            replies[0].content,
            json!({"status": "incomplete", "indent": "    "})
        );
    }

    /// The execute_reply waits until the IOPub side has taken the cell's outputs, however
    /// slow it is (here 50 ms a message).
    #[test]
    fn a_cells_outputs_are_published_before_its_reply() {
        let signer = Signer::new("key");
        let (tx, rx) = mpsc::channel();
        let kernel = Kernel::new(
            Box::new(MockEngine::new()),
            signer.clone(),
            tx,
            History::open_at(None),
        );
        let order = Arc::new(Mutex::new(Vec::<String>::new()));
        let published = order.clone();
        let slow_iopub = std::thread::spawn(move || {
            for outgoing in rx {
                std::thread::sleep(std::time::Duration::from_millis(50));
                match outgoing {
                    Outgoing::Publish(m) => lock(&published).push(m.header.msg_type),
                    Outgoing::Flushed(ack) => drop(ack.send(())),
                    Outgoing::Stop => break,
                }
            }
        });
        let cell = request(&signer, "execute_request", json!({"code": "print(\"a\")\n1 + 1"}));
        dispatch(&kernel, Channel::Shell, cell, &mut |m| {
            lock(&order).push(m.header.msg_type)
        });
        drop(kernel); // closes the channel: the consumer ends after the idle status
        slow_iopub.join().unwrap();
        let order = lock(&order).clone();
        let reply = order.iter().position(|t| t == "execute_reply").unwrap();
        assert_eq!(
            order[..reply],
            ["status", "execute_input", "stream", "execute_result"],
            "{order:?}"
        );
    }

    #[test]
    fn forged_messages_produce_nothing() {
        let signer = Signer::new("key");
        let (tx, rx) = mpsc::channel();
        let kernel = Kernel::new(Box::new(MockEngine::new()), signer, tx, History::open_at(None));
        let forged = request(&Signer::new("other"), "execute_request", json!({"code": "1"}));
        let (replies, published) = run(&kernel, &rx, forged);
        assert!(replies.is_empty());
        assert!(published.is_empty());
    }
}
