//! A small Jupyter client over ZeroMQ for the protocol tests: it launches the
//! real `ferrolab kernel` binary on loopback (or ipc) with a fresh connection
//! file, signs what it sends and verifies what it receives.
//!
//! It implements only what the tests need; it is not a general client (no
//! stdin channel handling, no reconnection).
#![allow(dead_code)]

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub struct Kernel {
    pub child: Child,
    pub dir: tempfile::TempDir,
    pub key: String,
    pub history_file: PathBuf,
    pub shell: zmq::Socket,
    pub control: zmq::Socket,
    pub iopub: zmq::Socket,
    pub hb: zmq::Socket,
    _ctx: zmq::Context,
    session: String,
}

#[derive(Debug, Clone)]
pub struct Msg {
    pub header: Value,
    pub parent: Value,
    pub content: Value,
}

impl Msg {
    pub fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or("")
    }
}

/// A free port on loopback, never one this test process handed out before (kernels
/// started from several threads at once would otherwise be given the same one).
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

fn hmac_hex(key: &str, parts: &[&[u8]]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    parts.iter().for_each(|p| mac.update(p));
    hex::encode(mac.finalize().into_bytes())
}

impl Kernel {
    /// Starts a kernel on tcp loopback with a fresh history file.
    pub fn start() -> Self {
        Self::start_with("tcp", None)
    }

    /// Starts a kernel with `transport` (`tcp` or `ipc`), optionally reusing a
    /// history file from an earlier kernel; it runs the mock engine.
    pub fn start_with(transport: &str, history_file: Option<&Path>) -> Self {
        Self::launch(transport, history_file, "mock", &[])
    }

    /// A mock-engine kernel whose stderr is a pipe already closed, as when the terminal or
    /// client that started it is gone ([`Kernel::stderr`] is then empty).
    pub fn start_with_closed_stderr() -> Self {
        Self::launch("tcp", None, "mock", &[("FERROLAB_TEST_CLOSED_STDERR", "1")])
    }

    /// Starts a kernel with the real (evcxr) engine on tcp loopback.
    pub fn start_real() -> Self {
        Self::launch("tcp", None, "evcxr", &[])
    }

    /// [`Kernel::start_real`] with more environment for the kernel.
    pub fn start_real_with(env: &[(&str, &str)]) -> Self {
        Self::launch("tcp", None, "evcxr", env)
    }

    fn launch(transport: &str, history_file: Option<&Path>, engine: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = uuid::Uuid::new_v4().to_string();
        let ip = if transport == "ipc" {
            dir.path().join("k").display().to_string()
        } else {
            "127.0.0.1".to_string()
        };
        let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
        let info = json!({
            "transport": transport, "ip": ip, "key": key, "signature_scheme": "hmac-sha256",
            "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
            "control_port": ports[3], "hb_port": ports[4], "kernel_name": "ferrolab",
        });
        let file = dir.path().join("connection.json");
        std::fs::write(&file, info.to_string()).unwrap();
        let history_file = history_file.map_or_else(|| dir.path().join("history.jsonl"), Path::to_path_buf);
        let closed = env.iter().any(|(k, _)| *k == "FERROLAB_TEST_CLOSED_STDERR");
        let stderr = if closed {
            Stdio::piped()
        } else {
            std::fs::File::create(dir.path().join("stderr.log"))
                .unwrap()
                .into()
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
            .args(["kernel", "-f"])
            .arg(&file)
            .env("FERROLAB_HISTORY_FILE", &history_file)
            .env("FERROLAB_ENGINE", engine)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        drop(child.stderr.take()); // closes the read end: the kernel's writes fail
        let endpoint = |port: u16| {
            if transport == "ipc" {
                format!("ipc://{ip}-{port}")
            } else {
                format!("tcp://{ip}:{port}")
            }
        };
        let ctx = zmq::Context::new();
        let connect = |kind, port| {
            let s = ctx.socket(kind).unwrap();
            s.set_linger(0).unwrap();
            s.connect(&endpoint(port)).unwrap();
            s
        };
        let shell = connect(zmq::DEALER, ports[0]);
        let iopub = connect(zmq::SUB, ports[1]);
        iopub.set_subscribe(b"").unwrap();
        let control = connect(zmq::DEALER, ports[3]);
        let hb = connect(zmq::REQ, ports[4]);
        let mut kernel = Kernel {
            child,
            dir,
            key,
            history_file,
            shell,
            control,
            iopub,
            hb,
            _ctx: ctx,
            session: uuid::Uuid::new_v4().to_string(),
        };
        kernel.wait_ready();
        kernel
    }

    /// Sends kernel_info until IOPub delivers its idle status: PUB/SUB drops
    /// messages until the subscription has reached the kernel.
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + TIMEOUT;
        while Instant::now() < deadline {
            let id = self.send(&self.shell, "kernel_info_request", json!({}));
            let got_reply = self.recv_on(&self.shell, Duration::from_millis(500)).is_some();
            if got_reply && self.wait_idle(&id, Duration::from_millis(500)).is_some() {
                return;
            }
        }
        panic!("kernel did not become ready; stderr:\n{}", self.stderr());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Signs and sends a request on `socket`; returns its msg_id.
    pub fn send(&self, socket: &zmq::Socket, msg_type: &str, content: Value) -> String {
        let msg_id = uuid::Uuid::new_v4().to_string();
        let header = json!({
            "msg_id": msg_id, "session": self.session, "username": "test",
            "date": "2026-01-01T00:00:00.000000Z", "msg_type": msg_type, "version": "5.3",
        });
        let parts = [header.to_string(), "{}".into(), "{}".into(), content.to_string()];
        let sig = hmac_hex(&self.key, &parts.iter().map(|p| p.as_bytes()).collect::<Vec<_>>());
        let mut frames: Vec<Vec<u8>> = vec![b"<IDS|MSG>".to_vec(), sig.into_bytes()];
        frames.extend(parts.into_iter().map(String::into_bytes));
        socket.send_multipart(frames, 0).unwrap();
        msg_id
    }

    /// Sends raw frames as they are (for malformed-input tests).
    pub fn send_raw(&self, socket: &zmq::Socket, frames: Vec<Vec<u8>>) {
        socket.send_multipart(frames, 0).unwrap();
    }

    /// Signs the four dict frames with the kernel's key.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        hmac_hex(&self.key, parts)
    }

    /// Receives one message, checking its signature; `None` on timeout.
    pub fn recv_on(&self, socket: &zmq::Socket, timeout: Duration) -> Option<Msg> {
        if socket.poll(zmq::POLLIN, timeout.as_millis() as i64).unwrap() == 0 {
            return None;
        }
        let frames = socket.recv_multipart(0).unwrap();
        let delim = frames.iter().position(|f| f == b"<IDS|MSG>").expect("delimiter");
        let parts: Vec<&[u8]> = frames[delim + 2..delim + 6].iter().map(Vec::as_slice).collect();
        assert_eq!(
            frames[delim + 1],
            self.sign(&parts).into_bytes(),
            "kernel signature"
        );
        let parse = |i: usize| serde_json::from_slice::<Value>(&frames[delim + i]).unwrap();
        Some(Msg {
            header: parse(2),
            parent: parse(3),
            content: parse(5),
        })
    }

    /// The reply to `id` on `socket`, skipping replies to other requests.
    pub fn reply(&self, socket: &zmq::Socket, id: &str) -> Msg {
        self.reply_within(socket, id, TIMEOUT)
    }

    /// Like [`Kernel::reply`] with its own timeout.
    pub fn reply_within(&self, socket: &zmq::Socket, id: &str, timeout: Duration) -> Msg {
        let deadline = Instant::now() + timeout;
        while let Some(msg) = self.recv_on(socket, deadline.saturating_duration_since(Instant::now())) {
            if msg.parent["msg_id"] == id {
                return msg;
            }
        }
        panic!("no reply to {id}; stderr:\n{}", self.stderr());
    }

    /// IOPub messages whose parent is `id`, up to and including its idle status.
    pub fn wait_idle(&self, id: &str, timeout: Duration) -> Option<Vec<Msg>> {
        let deadline = Instant::now() + timeout;
        let mut msgs = Vec::new();
        while let Some(msg) = self.recv_on(&self.iopub, deadline.saturating_duration_since(Instant::now())) {
            if msg.parent["msg_id"] != id {
                continue;
            }
            let idle = msg.msg_type() == "status" && msg.content["execution_state"] == "idle";
            msgs.push(msg);
            if idle {
                return Some(msgs);
            }
        }
        None
    }

    /// Sends a shell request; returns its reply and its IOPub messages.
    pub fn request(&self, msg_type: &str, content: Value) -> (Msg, Vec<Msg>) {
        self.request_within(msg_type, content, TIMEOUT)
    }

    /// Like [`Kernel::request`] with its own timeout (cells that compile need more).
    pub fn request_within(&self, msg_type: &str, content: Value, timeout: Duration) -> (Msg, Vec<Msg>) {
        let id = self.send(&self.shell, msg_type, content);
        let reply = self.reply_within(&self.shell, &id, timeout);
        let iopub = self
            .wait_idle(&id, timeout)
            .unwrap_or_else(|| panic!("no idle for {msg_type}; stderr:\n{}", self.stderr()));
        (reply, iopub)
    }

    /// Runs `code`; returns the execute_reply and the IOPub messages.
    pub fn execute(&self, code: &str) -> (Msg, Vec<Msg>) {
        self.request(
            "execute_request",
            json!({ "code": code, "silent": false, "store_history": true }),
        )
    }

    /// Runs `code`, allowing `timeout` for it.
    pub fn execute_within(&self, code: &str, timeout: Duration) -> (Msg, Vec<Msg>) {
        self.request_within(
            "execute_request",
            json!({ "code": code, "silent": false, "store_history": true }),
            timeout,
        )
    }

    /// Sends a control request; returns its reply.
    pub fn control(&self, msg_type: &str, content: Value) -> Msg {
        let id = self.send(&self.control, msg_type, content);
        self.reply(&self.control, &id)
    }

    /// Waits for the process to exit; true if it did within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        self.exit_status(timeout).is_some()
    }

    /// Waits for the process to exit; its status if it did within `timeout`.
    pub fn exit_status(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Every live process the kernel started, and theirs (the runtime, cargo, rustc).
    pub fn descendants(&self) -> Vec<i32> {
        descendants_of(self.child.id() as i32)
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Live (not zombie) descendants of `root`, from /proc.
pub fn descendants_of(root: i32) -> Vec<i32> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // After the command name in parentheses: state, then the parent pid.
        let mut fields = stat[stat.rfind(')').unwrap() + 1..].split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: i32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if state != "Z" {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![];
    let mut stack = vec![root];
    while let Some(p) = stack.pop() {
        for &(pid, ppid) in &parents {
            if ppid == p {
                found.push(pid);
                stack.push(pid);
            }
        }
    }
    found
}

/// Whether process `pid` still runs (a zombie does not).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat[stat.rfind(')').unwrap_or(0) + 1..].split_whitespace().next() != Some("Z"))
}

/// The message types in `msgs`, in order.
pub fn types(msgs: &[Msg]) -> Vec<&str> {
    msgs.iter().map(Msg::msg_type).collect()
}

/// The text of the `execute_result` among `iopub`, if there is one.
pub fn result_text(iopub: &[Msg]) -> Option<String> {
    iopub
        .iter()
        .find(|m| m.msg_type() == "execute_result")
        .and_then(|m| m.content["data"]["text/plain"].as_str())
        .map(str::to_string)
}
