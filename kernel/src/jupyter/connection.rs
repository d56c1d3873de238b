//! Reads the connection file Jupyter writes for a kernel: transport, address,
//! the five ports and the signing key, and turns them into ZeroMQ endpoints.
//!
//! It supports the `tcp` and `ipc` transports and the `hmac-sha256` scheme
//! only (an empty key means unsigned, as jupyter_client allows). It binds
//! nothing itself; the kernel binds exactly the endpoints given here.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::Path;

/// The parsed connection file.
#[derive(Debug, Clone, Deserialize)]
pub struct ConnectionInfo {
    #[serde(default = "default_transport")]
    pub transport: String,
    pub ip: String,
    pub shell_port: u16,
    pub iopub_port: u16,
    pub stdin_port: u16,
    pub control_port: u16,
    pub hb_port: u16,
    #[serde(default)]
    pub key: String,
    #[serde(default = "default_scheme")]
    pub signature_scheme: String,
}

fn default_transport() -> String {
    "tcp".into()
}

fn default_scheme() -> String {
    "hmac-sha256".into()
}

impl ConnectionInfo {
    /// Reads and validates a connection file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading connection file {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in connection file {}", path.display()))
    }

    /// Parses and validates connection-file JSON.
    pub fn parse(text: &str) -> Result<Self> {
        let info: Self = serde_json::from_str(text)?;
        if info.transport != "tcp" && info.transport != "ipc" {
            bail!("unsupported transport `{}` (tcp or ipc)", info.transport);
        }
        if info.signature_scheme != "hmac-sha256" {
            bail!(
                "unsupported signature scheme `{}` (hmac-sha256)",
                info.signature_scheme
            );
        }
        Ok(info)
    }

    /// The ZeroMQ endpoint for `port`. For ipc, jupyter_client names the
    /// socket file `{ip}-{port}`, so the "ip" is a path prefix.
    pub fn endpoint(&self, port: u16) -> String {
        match self.transport.as_str() {
            "ipc" => format!("ipc://{}-{}", self.ip, port),
            // IPv6 literals need brackets in a ZeroMQ tcp endpoint.
            _ if self.ip.contains(':') => format!("tcp://[{}]:{}", self.ip, port),
            _ => format!("tcp://{}:{}", self.ip, port),
        }
    }

    /// Whether the address is IPv6, which ZeroMQ must be told before binding.
    pub fn is_ipv6(&self) -> bool {
        self.transport == "tcp" && self.ip.contains(':')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4,
        "hb_port": 5, "ip": "127.0.0.1", "key": "k", "transport": "tcp",
        "signature_scheme": "hmac-sha256", "kernel_name": "ferrolab"}"#;

    #[test]
    fn parses_tcp() {
        let info = ConnectionInfo::parse(FILE).unwrap();
        assert_eq!(info.endpoint(info.shell_port), "tcp://127.0.0.1:1");
        assert_eq!(info.key, "k");
    }

    #[test]
    fn ipc_and_ipv6_endpoints() {
        let mut info = ConnectionInfo::parse(FILE).unwrap();
        info.ip = "::1".into();
        assert_eq!(info.endpoint(5), "tcp://[::1]:5");
        assert!(info.is_ipv6());
        info.transport = "ipc".into();
        info.ip = "/tmp/kernel".into();
        assert_eq!(info.endpoint(5), "ipc:///tmp/kernel-5");
    }

    #[test]
    fn rejects_unknown_scheme_and_transport() {
        assert!(ConnectionInfo::parse(&FILE.replace("hmac-sha256", "hmac-md5")).is_err());
        assert!(ConnectionInfo::parse(&FILE.replace("\"tcp\"", "\"udp\"")).is_err());
        assert!(ConnectionInfo::parse("{}").is_err());
    }
}
