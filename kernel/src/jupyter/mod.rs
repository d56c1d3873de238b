//! The Jupyter front end: speaks the messaging protocol (5.3) over ZeroMQ and
//! drives an [`Engine`](crate::engine::Engine).
//!
//! `connection` reads the connection file, `wire` frames and signs messages,
//! `messages` types their contents, `handlers` answers requests, `history`
//! keeps executed cells, and `sockets` owns the threads. Nothing here knows how
//! code runs; nothing in the engine knows about sockets.

pub mod connection;
pub mod handlers;
pub mod history;
pub mod messages;
pub mod sockets;
pub mod wire;
