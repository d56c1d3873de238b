//! Binds the five Jupyter sockets and runs one thread per channel until a
//! shutdown request arrives.
//!
//! Shell and control each have a thread (so an interrupt or shutdown on control
//! is answered while a cell runs on shell); IOPub has a thread fed by a channel,
//! so messages from both keep one order, and it welcomes each new subscriber
//! (`iopub_welcome`, an XPUB socket); heartbeat echoes on its own thread.
//! SIGINT interrupts the engine instead of killing the kernel; SIGTERM shuts it down as a
//! shutdown request does; the kernel exits when the process that started it dies. The stdin socket is bound (clients expect it)
//! but not read: no `input_request` yet.

use super::connection::ConnectionInfo;
use super::handlers::{dispatch_queued, Channel, Kernel, Outgoing};
use super::history::History;
use super::wire::{Message, Signer};
use crate::engine::Engine;
use anyhow::{Context, Result};
use serde_json::json;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Mutex};
use std::thread;

/// How long a blocked thread waits before rechecking for shutdown.
const POLL_MS: i64 = 100;

/// How often the kernel checks that the process that started it is still there.
const PARENT_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// Tells the IOPub thread to stop: a message of one empty frame, which no encoded
/// Jupyter message can be (they always carry the delimiter and five parts).
const STOP_FRAME: &[u8] = b"";
/// A flush marker: its ack is sent once the frames queued before it are on the socket.
const FLUSH_FRAME: &[u8] = b"flush";

/// How long closing sockets may spend flushing the last replies.
const LINGER_MS: i32 = 1000;

/// Serves the connection until a `shutdown_request`; then returns.
pub fn serve(info: &ConnectionInfo, engine: Box<dyn Engine>) -> Result<()> {
    check_encryption(info)?;
    let ctx = zmq::Context::new();
    let bind = |kind: zmq::SocketType, port: u16| -> Result<zmq::Socket> {
        let socket = ctx.socket(kind)?;
        socket.set_linger(LINGER_MS)?;
        socket.set_ipv6(info.is_ipv6())?;
        if let Some(secret) = info.curve_secret() {
            // Every socket a CURVE server: a client without the key pair gets nothing.
            socket.set_curve_server(true)?;
            socket.set_curve_secretkey(secret.as_bytes())?;
        }
        let endpoint = info.endpoint(port);
        socket
            .bind(&endpoint)
            .with_context(|| format!("binding {endpoint}"))?;
        Ok(socket)
    };
    let shell = bind(zmq::ROUTER, info.shell_port)?;
    let control = bind(zmq::ROUTER, info.control_port)?;
    let stdin = bind(zmq::ROUTER, info.stdin_port)?;
    let iopub = bind(zmq::XPUB, info.iopub_port)?;
    // Pass every subscription up, not just the first per topic: each client gets a welcome.
    iopub.set_xpub_verbose(true)?;
    let heartbeat = bind(zmq::REP, info.hb_port)?;

    let signer = Signer::new(&info.key);
    let (tx, rx) = mpsc::channel();
    let kernel = Arc::new(Kernel::new(engine, signer.clone(), tx.clone(), History::open()));

    // Messages to publish come from several threads through `rx`; a forwarder hands them
    // (encoded) to the IOPub thread over an inproc pair, so that thread can wait on new
    // messages and on new subscribers at once. Each zmq socket stays on one thread.
    let endpoint = "inproc://iopub-outgoing";
    let queue_in = ctx.socket(zmq::PAIR)?;
    queue_in.bind(endpoint)?;
    let queue_out = ctx.socket(zmq::PAIR)?;
    queue_out.connect(endpoint)?;
    let forward_signer = signer.clone();
    // Flush requests wait here, in order, until the IOPub thread reaches their marker.
    let acks: Arc<Mutex<VecDeque<mpsc::Sender<()>>>> = Arc::default();
    let forward_acks = acks.clone();
    let forwarder = thread::Builder::new().name("iopub-queue".into()).spawn(move || {
        for outgoing in rx {
            let frames = match outgoing {
                Outgoing::Publish(msg) => msg.encode(&forward_signer),
                Outgoing::Flushed(ack) => {
                    forward_acks
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_back(ack);
                    vec![FLUSH_FRAME.to_vec()]
                }
                Outgoing::Stop => {
                    let _ = queue_out.send(STOP_FRAME, 0);
                    break;
                }
            };
            if queue_out.send_multipart(frames, 0).is_err() {
                break;
            }
        }
    })?;
    let session = kernel.session.clone();
    let iopub_thread = thread::Builder::new()
        .name("iopub".into())
        .spawn(move || publish_loop(&iopub, &queue_in, &signer, &session, &acks))?;
    let mut workers = Vec::new();
    for (name, socket, channel) in [
        ("shell", shell, Channel::Shell),
        ("control", control, Channel::Control),
    ] {
        let kernel = kernel.clone();
        workers.push(
            thread::Builder::new()
                .name(name.into())
                .spawn(move || request_loop(&kernel, &socket, channel))?,
        );
    }
    let hb_kernel = kernel.clone();
    workers.push(
        thread::Builder::new()
            .name("heartbeat".into())
            .spawn(move || heartbeat_loop(&hb_kernel, &heartbeat))?,
    );

    let signal_kernel = kernel.clone();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    // Detached: it holds no socket, and the process exits under it.
    thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            if signal == SIGTERM {
                // As a shutdown request: the runtime and any build stop with the kernel.
                elog!("ferrolab kernel: SIGTERM; shutting down");
                signal_kernel.shut_down(false);
            } else {
                signal_kernel.engine.interrupt();
            }
        }
    })?;

    watch_parent(kernel.clone())?;

    for worker in workers {
        if worker.join().is_err() {
            elog!("ferrolab kernel: a socket thread panicked");
        }
    }
    let _ = tx.send(Outgoing::Stop);
    let _ = forwarder.join();
    let _ = iopub_thread.join();
    drop(stdin);
    Ok(())
}

/// Refuses an encrypted connection this libzmq cannot serve, and says in the log how the
/// kernel's traffic travels: encrypted, over plain TCP (signed, readable on the network),
/// or over ipc (local sockets).
fn check_encryption(info: &ConnectionInfo) -> Result<()> {
    let curve = super::connection::curve_available();
    if !curve {
        elog!(
            "ferrolab kernel: this build's libzmq has no CURVE support, so encrypted connections \
             are refused (build against a libzmq with libsodium; see .cargo/config.toml)"
        );
    }
    match (info.curve_secret(), info.transport.as_str()) {
        (Some(_), _) if !curve => anyhow::bail!(
            "the connection file asks for CurveZMQ encryption, but this build's libzmq has no CURVE support"
        ),
        (Some(_), _) => elog!("ferrolab kernel: CurveZMQ encryption on all five sockets"),
        (None, "tcp") => elog!(
            "ferrolab kernel: WARNING: serving over plain TCP on {}: messages are signed but not \
             encrypted; anyone who can reach these ports can read them (ask jupyter_client for \
             transport_encryption to encrypt)",
            info.ip
        ),
        (None, _) => {}
    }
    Ok(())
}

/// Shuts the kernel down once the process that started it is gone.
///
/// A client that dies without a shutdown request (a crashed notebook server, a killed
/// script) would leave the kernel running, holding a build slot, its runtime and about
/// 1 GB; like ipykernel, the kernel notices that it was re-parented and exits.
fn watch_parent(kernel: Arc<Kernel>) -> Result<()> {
    // SAFETY: getppid has no preconditions and cannot fail.
    let parent = unsafe { libc::getppid() };
    thread::Builder::new()
        .name("parent-watch".into())
        .spawn(move || {
            while !kernel.shutting_down() {
                thread::sleep(PARENT_POLL);
                // SAFETY: as above.
                if unsafe { libc::getppid() } != parent {
                    elog!(
                        "ferrolab kernel: the process that started it (pid {parent}) exited; shutting down"
                    );
                    kernel.shut_down(false);
                }
            }
        })?;
    Ok(())
}

/// Publishes what arrives on `queue` until the stop frame, and welcomes every new
/// subscriber with an `iopub_welcome` (JEP 65): a client then knows its subscription is
/// live at once, instead of waiting for output that a late subscription would miss.
fn publish_loop(
    iopub: &zmq::Socket,
    queue: &zmq::Socket,
    signer: &Signer,
    session: &str,
    acks: &Mutex<VecDeque<mpsc::Sender<()>>>,
) {
    loop {
        let mut items = [queue.as_poll_item(zmq::POLLIN), iopub.as_poll_item(zmq::POLLIN)];
        if let Err(e) = zmq::poll(&mut items, -1) {
            elog!("ferrolab kernel: poll on iopub failed: {e}");
            continue;
        }
        let (queued, subscribed) = (items[0].is_readable(), items[1].is_readable());
        // Subscription frames: 1 then the topic (0 then the topic is an unsubscription).
        if subscribed {
            while let Ok(frame) = iopub.recv_bytes(zmq::DONTWAIT) {
                if let Some((1, topic)) = frame.split_first() {
                    let topic = String::from_utf8_lossy(topic);
                    let welcome = json!({ "subscription": topic });
                    let mut msg = Message::unsolicited("iopub_welcome", welcome, session);
                    msg.ids = vec![topic.as_bytes().to_vec()];
                    send(iopub, msg.encode(signer));
                }
            }
        }
        if queued {
            while let Ok(frames) = queue.recv_multipart(zmq::DONTWAIT) {
                if frames == [STOP_FRAME] {
                    return;
                }
                if frames == [FLUSH_FRAME] {
                    // Everything queued before the marker has been sent above.
                    if let Some(ack) = acks.lock().unwrap_or_else(|e| e.into_inner()).pop_front() {
                        let _ = ack.send(());
                    }
                    continue;
                }
                send(iopub, frames);
            }
        }
    }
}

fn send(iopub: &zmq::Socket, frames: Vec<Vec<u8>>) {
    if let Err(e) = iopub.send_multipart(frames, 0) {
        elog!("ferrolab kernel: iopub send failed: {e}");
    }
}

/// Receives and dispatches requests on a ROUTER socket until shutdown.
fn request_loop(kernel: &Kernel, socket: &zmq::Socket, channel: Channel) {
    while !kernel.shutting_down() {
        match socket.poll(zmq::POLLIN, POLL_MS) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(e) => {
                elog!("ferrolab kernel: poll on {channel:?} failed: {e}");
                continue;
            }
        }
        let frames = match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(frames) => frames,
            Err(zmq::Error::EAGAIN) => continue,
            Err(e) => {
                elog!("ferrolab kernel: receive on {channel:?} failed: {e}");
                continue;
            }
        };
        let mut send_reply = |reply: Message| {
            if let Err(e) = socket.send_multipart(reply.encode(&kernel.signer), 0) {
                elog!("ferrolab kernel: reply on {channel:?} failed: {e}");
            }
        };
        // What is queued on shell now, for aborting after a failed cell (stop_on_error).
        let mut queued = || match channel {
            Channel::Shell => socket.recv_multipart(zmq::DONTWAIT).ok(),
            Channel::Control => None,
        };
        dispatch_queued(kernel, channel, frames, &mut send_reply, &mut queued);
    }
}

/// Echoes every heartbeat ping back unchanged.
fn heartbeat_loop(kernel: &Kernel, socket: &zmq::Socket) {
    while !kernel.shutting_down() {
        if !matches!(socket.poll(zmq::POLLIN, POLL_MS), Ok(n) if n > 0) {
            continue;
        }
        if let Ok(ping) = socket.recv_multipart(zmq::DONTWAIT) {
            let _ = socket.send_multipart(ping, 0);
        }
    }
}
