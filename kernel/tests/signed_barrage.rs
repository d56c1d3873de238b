//! Correctly signed hostile requests: what the signature check lets through.
//!
//! 10,000 messages, each a valid request with one mutation (a field of the wrong JSON type
//! or missing, cursor positions past the end or inside a multi-byte character, megabyte
//! strings, deeply nested JSON, invalid UTF-8 in a frame, headers that are not objects,
//! hostile history counts and patterns, unknown message types, extra buffers), signed with
//! the kernel's key, on shell and control. Every request whose header the kernel can read
//! gets exactly one signed reply (an error where the request is bad), nothing else does,
//! the kernel never exits or hangs, and a variable defined before is still there after.
//!
//! The mock engine runs the cells, so the test is about the protocol layer and takes
//! seconds (about 20 s on two cores); evcxr's analysis calls get their own hostile
//! requests in `faults.rs`. The mutations come from a fixed seed, so a failure repeats.

mod common;

use common::Kernel;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// Requests tried.
const REQUESTS: usize = 10_000;
/// Requests in flight before the test collects their replies: under ZeroMQ's high-water
/// marks (1,000), so a ROUTER never drops a reply for want of room.
const WINDOW: usize = 50;
/// Long enough for a window of megabyte requests on a loaded machine; only a hang waits
/// this long.
const WINDOW_TIMEOUT: Duration = Duration::from_secs(120);

/// A small deterministic generator (xorshift64*), so the barrage repeats exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const UNICODE_CODE: &str = "let s = \"héllo wörld 大模型\"; s.len()";

/// The valid requests the mutations start from.
fn bases() -> Vec<(&'static str, Value)> {
    vec![
        (
            "execute_request",
            json!({ "code": "kept + 1", "silent": false, "store_history": false,
                    "user_expressions": {}, "allow_stdin": false, "stop_on_error": false }),
        ),
        (
            "complete_request",
            json!({ "code": UNICODE_CODE, "cursor_pos": 28 }),
        ),
        (
            "inspect_request",
            json!({ "code": UNICODE_CODE, "cursor_pos": 28, "detail_level": 0 }),
        ),
        (
            "is_complete_request",
            json!({ "code": "fn f() {\n    let x = 大模型" }),
        ),
        (
            "history_request",
            json!({ "hist_access_type": "search", "pattern": "ke*", "n": 5, "unique": true,
                    "output": false, "raw": true }),
        ),
        (
            "history_request",
            json!({ "hist_access_type": "range", "session": -1, "start": 1, "stop": 4,
                    "output": true, "raw": true }),
        ),
        ("history_request", json!({ "hist_access_type": "tail", "n": 10 })),
        ("kernel_info_request", json!({})),
        ("comm_info_request", json!({ "target_name": "jupyter.widget" })),
        ("interrupt_request", json!({})),
    ]
}

/// JSON values of every type, for fields of the wrong type.
fn wrong_values() -> Vec<Value> {
    vec![
        json!(42),
        json!(-1),
        json!(1e308),
        json!(u64::MAX),
        json!("text"),
        json!(null),
        json!([]),
        json!([1, "two"]),
        json!({}),
        json!({ "code": "1" }),
        json!(true),
    ]
}

/// One request as frames: header, parent, metadata, content, then extra buffers.
struct Frames {
    header: Vec<u8>,
    parent: Vec<u8>,
    metadata: Vec<u8>,
    content: Vec<u8>,
    buffers: Vec<Vec<u8>>,
}

fn header(msg_type: &str, msg_id: &str) -> Value {
    json!({
        "msg_id": msg_id, "session": "barrage", "username": "hostile",
        "date": "2026-12-01T00:00:00.000000Z", "msg_type": msg_type, "version": "5.3",
    })
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Invalid UTF-8 in the middle of a JSON string.
fn with_bad_utf8(json: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(json);
    match text.find(":\"") {
        Some(i) => {
            let mut bytes = json[..i + 2].to_vec();
            bytes.extend_from_slice(b"\xff\xfe\xc3");
            bytes.extend_from_slice(&json[i + 2..]);
            bytes
        }
        None => b"{\"x\":\"\xff\"}".to_vec(),
    }
}

/// Request number `i`: a base request with mutation `i % 13`.
fn hostile(i: usize, rng: &mut Rng, megabyte: &str) -> Frames {
    let bases = bases();
    let (msg_type, base) = &bases[(i / 13) % bases.len()];
    let mut msg_type = msg_type.to_string();
    let mut content = base.clone();
    let mut head = header(&msg_type, &uuid::Uuid::new_v4().to_string());
    let mut raw_content = None;
    let mut raw_header = None;
    let (mut parent, mut metadata) = (b"{}".to_vec(), b"{}".to_vec());
    let mut buffers = Vec::new();
    let fields: Vec<String> = content.as_object().unwrap().keys().cloned().collect();
    match i % 13 {
        // A field of the wrong JSON type.
        0 if !fields.is_empty() => {
            let field = rng.pick(&fields).clone();
            content[field] = rng.pick(&wrong_values()).clone();
        }
        // A field missing.
        1 if !fields.is_empty() => {
            let field = rng.pick(&fields).clone();
            content.as_object_mut().unwrap().remove(&field);
        }
        // A cursor past the end, or huge.
        2 => {
            content["cursor_pos"] = rng
                .pick(&[
                    json!(10_000),
                    json!(u32::MAX),
                    json!(u64::MAX),
                    json!(-5),
                    json!(1.5),
                ])
                .clone();
        }
        // A cursor in the middle of multi-byte text: every position, in chars or bytes.
        3 => {
            let code = "大模型é🦀\u{301}x";
            content["code"] = json!(code);
            content["cursor_pos"] = json!(rng.below(code.len() + 2));
        }
        // A megabyte string (a few: each is hashed and parsed on both sides).
        4 if i % 130 == 4 => {
            let field = fields.first().map_or("code".to_string(), Clone::clone);
            content[field] = json!(megabyte);
        }
        // Deeply nested JSON, in the content or the parent header.
        5 => {
            let depth = *rng.pick(&[129, 1_000, 100_000]);
            if rng.below(2) == 0 {
                raw_content = Some(format!("{{\"code\": {}}}", nested(depth)).into_bytes());
            } else {
                parent = format!("{{\"x\": {}}}", nested(depth)).into_bytes();
            }
        }
        // Invalid UTF-8 in one frame.
        6 => match rng.below(4) {
            0 => raw_content = Some(with_bad_utf8(content.to_string().as_bytes())),
            1 => raw_header = Some(with_bad_utf8(head.to_string().as_bytes())),
            2 => parent = b"{\"msg_id\":\"\xff\"}".to_vec(),
            _ => metadata = b"{\"k\":\"\xc0\xaf\"}".to_vec(),
        },
        // A header that is not an object, or not JSON.
        7 => {
            let bad: &[&[u8]] = &[b"[]", b"\"header\"", b"7", b"null", b"true", b"", b"{", b"{}"];
            raw_header = Some(rng.pick(bad).to_vec());
        }
        // Hostile history counts and patterns.
        8 => {
            msg_type = "history_request".into();
            head["msg_type"] = json!(msg_type);
            content = match rng.below(6) {
                0 => {
                    json!({ "hist_access_type": "tail", "n": rng.pick(&[json!(-1), json!(u64::MAX), json!(1e30)]) })
                }
                1 => json!({ "hist_access_type": "search", "pattern": "*".repeat(10_000) + "x", "n": 3 }),
                2 => json!({ "hist_access_type": "search", "pattern": "?*".repeat(5_000), "unique": true }),
                3 => {
                    json!({ "hist_access_type": "range", "session": i64::MIN, "start": i64::MIN, "stop": i64::MAX })
                }
                4 => {
                    json!({ "hist_access_type": "range", "session": i64::MAX, "start": i64::MAX, "stop": i64::MIN })
                }
                _ => json!({ "hist_access_type": "sideways", "pattern": "[a-z]+(" }),
            };
        }
        // An unknown message type: a request (answered with an error) or not (ignored).
        9 => {
            msg_type = rng
                .pick(&[
                    "frobnicate_request",
                    "debug_request",
                    "_request",
                    "input_reply",
                    "comm_msg",
                    "x",
                ])
                .to_string();
            head["msg_type"] = json!(msg_type);
        }
        // Extra buffers after the content.
        10 => {
            let n = 1 + rng.below(4);
            buffers = (0..n).map(|k| vec![0xff_u8; k * 1000 + 1]).collect();
        }
        // A parent header or metadata that is not an object.
        11 => {
            let bad: &[&[u8]] = &[b"[]", b"\"p\"", b"3", b"null", b"{"];
            if rng.below(2) == 0 {
                parent = rng.pick(bad).to_vec();
            } else {
                metadata = rng.pick(bad).to_vec();
            }
        }
        // Header fields of the wrong type or missing.
        _ => {
            let field = *rng.pick(&["msg_id", "msg_type", "session", "username", "date", "version"]);
            if rng.below(2) == 0 {
                head.as_object_mut().unwrap().remove(field);
            } else {
                head[field] = rng.pick(&wrong_values()).clone();
            }
        }
    }
    Frames {
        header: raw_header.unwrap_or_else(|| head.to_string().into_bytes()),
        parent,
        metadata,
        content: raw_content.unwrap_or_else(|| content.to_string().into_bytes()),
        buffers,
    }
}

/// The msg_id of a request the kernel must answer: its header is a JSON object with the
/// string fields a header has (msg_id and msg_type required) and its type is a request.
fn answerable(header: &[u8]) -> Option<String> {
    let Ok(Value::Object(h)) = serde_json::from_slice::<Value>(header) else {
        return None;
    };
    let optional_ok = ["session", "username", "date", "version"]
        .iter()
        .all(|f| h.get(*f).is_none_or(Value::is_string));
    let msg_type = h.get("msg_type")?.as_str()?;
    let msg_id = h.get("msg_id")?.as_str()?;
    (optional_ok && msg_type.ends_with("_request")).then(|| msg_id.to_string())
}

#[test]
fn ten_thousand_signed_hostile_requests() {
    let mut k = Kernel::start();
    assert_eq!(k.execute("let kept = 41").0.content["status"], "ok");
    let megabyte = "大".repeat(350_000); // ≈ 1 MB of UTF-8
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut tried, mut answered, mut errors) = (0, 0, 0);
    let mut iopub_seen = 0usize;
    for window in 0..REQUESTS / WINDOW {
        // (channel, msg_id) -> replies due: a hostile msg_id ("text") may repeat.
        let mut expected: HashMap<(bool, String), usize> = HashMap::new();
        for j in 0..WINDOW {
            let i = window * WINDOW + j;
            let frames = hostile(i, &mut rng, &megabyte);
            let on_control = i % 2 == 1;
            let sig = k.sign(&[&frames.header, &frames.parent, &frames.metadata, &frames.content]);
            if let Some(id) = answerable(&frames.header) {
                *expected.entry((on_control, id)).or_default() += 1;
            }
            let mut wire = vec![b"<IDS|MSG>".to_vec(), sig.into_bytes()];
            wire.extend([frames.header, frames.parent, frames.metadata, frames.content]);
            wire.extend(frames.buffers);
            k.send_raw(if on_control { &k.control } else { &k.shell }, wire);
            tried += 1;
        }
        // Every answerable request is answered once, and nothing else is.
        let deadline = std::time::Instant::now() + WINDOW_TIMEOUT;
        while !expected.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "window {window}: no reply to {} requests (the kernel hangs?); exited: {:?}; stderr tail:\n{}",
                expected.values().sum::<usize>(),
                k.child.try_wait(),
                tail(&k.stderr())
            );
            for (on_control, socket) in [(false, &k.shell), (true, &k.control)] {
                while let Some(reply) = k.recv_on(socket, Duration::from_millis(5)) {
                    let id = reply.parent["msg_id"].as_str().unwrap_or("").to_string();
                    let due = expected.get_mut(&(on_control, id.clone()));
                    assert!(due.is_some(), "unexpected or repeated reply {reply:?}");
                    if let Some(due) = due {
                        *due -= 1;
                        if *due == 0 {
                            expected.remove(&(on_control, id));
                        }
                    }
                    check_reply(&reply);
                    answered += 1;
                    errors += usize::from(reply.content["status"] == "error");
                }
            }
            // IOPub carries busy/idle for each; read it so nothing piles up.
            while k.recv_on(&k.iopub, Duration::ZERO).is_some() {
                iopub_seen += 1;
            }
        }
        assert!(k.child.try_wait().unwrap().is_none(), "the kernel exited");
    }
    // Nothing more arrives late.
    assert!(k.recv_on(&k.shell, Duration::from_millis(300)).is_none());
    assert!(k.recv_on(&k.control, Duration::ZERO).is_none());
    let (reply, iopub) = k.execute("kept");
    let value = iopub
        .iter()
        .find(|m| m.msg_type() == "execute_result")
        .map(|m| m.content["data"]["text/plain"].clone());
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(
        value,
        Some(json!("41")),
        "the variable defined before the barrage"
    );
    eprintln!(
        "barrage: {tried} signed hostile requests, {answered} replies ({errors} errors), {iopub_seen} IOPub messages read"
    );
    assert_eq!(tried, REQUESTS);
    assert!(answered > REQUESTS / 2, "{answered} replies");
}

/// A reply is well formed: a status, and an error's name, value and traceback.
fn check_reply(reply: &common::Msg) {
    let status = reply.content["status"].as_str().unwrap_or("");
    let known = [
        "ok",
        "error",
        "aborted",
        "complete",
        "incomplete",
        "invalid",
        "unknown",
    ];
    assert!(known.contains(&status), "{reply:?}");
    if status == "error" {
        assert!(reply.content["ename"].is_string(), "{reply:?}");
        assert!(reply.content["evalue"].is_string(), "{reply:?}");
        assert!(reply.content["traceback"].is_array(), "{reply:?}");
        assert_ne!(
            reply.content["ename"], "InternalError",
            "the kernel panicked: {reply:?}"
        );
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
