//! Hostile-input tests: forged signatures must never execute, and a flood of
//! malformed frames must neither crash the kernel nor stop it answering.

mod common;

use common::{types, Kernel};
use serde_json::json;
use std::time::{Duration, Instant};

fn header(msg_type: &str) -> String {
    json!({
        "msg_id": uuid::Uuid::new_v4().to_string(), "session": "s", "username": "u",
        "date": "2026-01-01T00:00:00Z", "msg_type": msg_type, "version": "5.3",
    })
    .to_string()
}

#[test]
fn forged_or_unsigned_execute_never_runs() {
    let k = Kernel::start();
    let target = k.dir.path().join("pwned");
    let code = format!(":touch {}", target.display());
    let content = json!({ "code": code, "silent": false }).to_string();
    let h = header("execute_request");
    let forged_sig = "0".repeat(64);
    let wrong_key_sig = {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"not-the-key").unwrap();
        for p in [h.as_bytes(), b"{}", b"{}", content.as_bytes()] {
            mac.update(p);
        }
        hex::encode(mac.finalize().into_bytes())
    };
    for sig in [forged_sig.as_str(), wrong_key_sig.as_str(), "", "not hex"] {
        let frames = vec![
            b"<IDS|MSG>".to_vec(),
            sig.as_bytes().to_vec(),
            h.clone().into_bytes(),
            b"{}".to_vec(),
            b"{}".to_vec(),
            content.clone().into_bytes(),
        ];
        k.send_raw(&k.shell, frames.clone());
        k.send_raw(&k.control, frames);
    }
    // The kernel still answers, and answered nothing to the forgeries.
    let (reply, _) = k.execute("1+1");
    assert_eq!(reply.content["status"], "ok");
    assert!(k.recv_on(&k.shell, Duration::from_millis(200)).is_none());
    std::thread::sleep(Duration::from_millis(300));
    assert!(!target.exists(), "a forged message was executed");
    assert!(k.stderr().contains("signature does not match"), "{}", k.stderr());

    // The same code, properly signed, does run: the test above is meaningful.
    assert_eq!(k.execute(&code).0.content["status"], "ok");
    assert!(target.exists());
}

#[test]
fn a_thousand_malformed_messages_then_kernel_info() {
    let mut k = Kernel::start();
    let started = Instant::now();
    let big = "x".repeat(3 << 20);
    let mut signed_replies_expected = 0;
    let mut sent = 0;
    let mut received = 0;
    for i in 0..1200 {
        let h = header("execute_request");
        let frames: Vec<Vec<u8>> = match i % 12 {
            // Frames with no delimiter, or too few parts.
            0 => vec![b"garbage".to_vec()],
            1 => vec![b"<IDS|MSG>".to_vec(), b"sig".to_vec()],
            2 => vec![],
            // Unsigned, bad JSON everywhere.
            3 => vec![
                b"<IDS|MSG>".to_vec(),
                vec![],
                b"{".to_vec(),
                b"[".to_vec(),
                b"\xff".to_vec(),
                b"null".to_vec(),
            ],
            // Unsigned megabyte payload (only a few: they are slow to hash).
            4 if i < 60 => vec![
                b"<IDS|MSG>".to_vec(),
                b"00".to_vec(),
                h.clone().into_bytes(),
                b"{}".to_vec(),
                b"{}".to_vec(),
                big.clone().into_bytes(),
            ],
            _ => {
                // Properly signed but wrong inside.
                let (h, content) = match i % 12 {
                    5 => ("not json".to_string(), "{}".to_string()),
                    6 => (json!({"msg_type": 5}).to_string(), "{}".to_string()),
                    7 => (h, "{\"code\": 12}".to_string()),
                    8 => (h, "[1, 2, 3]".to_string()),
                    9 => (
                        header("complete_request"),
                        "{\"code\": \"x\", \"cursor_pos\": -4}".to_string(),
                    ),
                    10 if i < 80 => (header("is_complete_request"), json!({ "code": big }).to_string()),
                    10 => (
                        header("history_request"),
                        "{\"hist_access_type\": \"sideways\"}".to_string(),
                    ),
                    _ => (h, "{\"code\": \"1+".to_string()),
                };
                let sig = k.sign(&[h.as_bytes(), b"{}", b"{}", content.as_bytes()]);
                if !matches!(i % 12, 5 | 6) {
                    signed_replies_expected += 1;
                }
                vec![
                    b"<IDS|MSG>".to_vec(),
                    sig.into_bytes(),
                    h.into_bytes(),
                    b"{}".to_vec(),
                    b"{}".to_vec(),
                    content.into_bytes(),
                ]
            }
        };
        // Empty multipart sends are not possible; send a single empty frame.
        let frames = if frames.is_empty() { vec![vec![]] } else { frames };
        k.send_raw(&k.shell, frames);
        sent += 1;
        // Keep the reply queue drained so neither side hits its high-water mark.
        while let Some(m) = k.recv_on(&k.shell, Duration::ZERO) {
            check_reply(&m);
            received += 1;
        }
    }
    // Every signed request with a readable header is answered, and only those.
    let deadline = Instant::now() + Duration::from_secs(30);
    while received < signed_replies_expected && Instant::now() < deadline {
        if let Some(m) = k.recv_on(&k.shell, Duration::from_millis(200)) {
            check_reply(&m);
            received += 1;
        }
    }
    assert_eq!(received, signed_replies_expected);
    assert!(sent >= 1000);
    let (reply, _) = k.request("kernel_info_request", json!({}));
    assert_eq!(reply.content["status"], "ok");
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "took {:?}",
        started.elapsed()
    );
    assert!(k.child.try_wait().unwrap().is_none());
}

#[test]
fn malformed_but_signed_request_gets_error_reply() {
    let k = Kernel::start();
    let h = header("execute_request");
    let id = serde_json::from_str::<serde_json::Value>(&h).unwrap()["msg_id"]
        .as_str()
        .unwrap()
        .to_string();
    let content = b"{\"code\": [1]}";
    let sig = k.sign(&[h.as_bytes(), b"{}", b"{}", content]);
    k.send_raw(
        &k.shell,
        vec![
            b"<IDS|MSG>".to_vec(),
            sig.into_bytes(),
            h.into_bytes(),
            b"{}".to_vec(),
            b"{}".to_vec(),
            content.to_vec(),
        ],
    );
    let reply = k.reply(&k.shell, &id);
    assert_eq!(reply.msg_type(), "execute_reply");
    assert_eq!(reply.content["status"], "error");
    assert_eq!(reply.content["ename"], "MalformedMessage");
    let iopub = k.wait_idle(&id, common::TIMEOUT).unwrap();
    assert_eq!(types(&iopub), ["status", "status"]);
}

/// A reply to a malformed request: an error, except is_complete on a huge
/// but valid cell, which is legitimately answered.
fn check_reply(m: &common::Msg) {
    let ok = m.content["status"] == "error" || m.msg_type() == "is_complete_reply";
    assert!(ok, "{m:?}");
}

/// A kernel whose stderr is gone (the client's terminal closed) logs without panicking:
/// a forged message is logged on the shell thread, SIGTERM on the signal thread, and both
/// once killed those threads (`eprintln!` panics on a failed write), leaving a kernel that
/// answered nothing or never exited.
#[test]
fn a_closed_stderr_never_stops_the_kernel() {
    let mut k = Kernel::start_with_closed_stderr();
    let h = header("execute_request");
    let frames = vec![
        b"<IDS|MSG>".to_vec(),
        b"0".repeat(64),
        h.into_bytes(),
        b"{}".to_vec(),
        b"{}".to_vec(),
        b"{\"code\": \"1\"}".to_vec(),
    ];
    k.send_raw(&k.shell, frames);
    let (reply, _) = k.execute("1+1");
    assert_eq!(reply.content["status"], "ok");
    // SAFETY: kill(2) with plain integers.
    unsafe { libc::kill(k.child.id() as i32, libc::SIGTERM) };
    let status = k.exit_status(common::TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}
