//! Reads the connection file Jupyter writes for a kernel: transport, address,
//! the five ports and the signing key, and turns them into ZeroMQ endpoints.
//!
//! It supports the `tcp` and `ipc` transports and the `hmac-sha256` scheme
//! only (an empty key means unsigned, as jupyter_client allows). When the file carries a
//! CurveZMQ key pair (`curve_publickey`, `curve_secretkey`, Z85 text, as jupyter_client ≥ 8.9
//! writes for `transport_encryption`), every socket is to be a CURVE server with that secret
//! key; a file with keys is refused when this build's libzmq has no CURVE. It binds
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
    /// The CurveZMQ key pair (Z85, 40 characters each), when the client asked for encryption.
    #[serde(default)]
    pub curve_publickey: Option<String>,
    #[serde(default)]
    pub curve_secretkey: Option<String>,
}

/// Whether the libzmq this binary links can encrypt (CurveZMQ needs libzmq built with
/// libsodium; zmq-sys's vendored copy is not, see `.cargo/config.toml`).
pub fn curve_available() -> bool {
    zmq::has("curve").unwrap_or(false)
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
        match (&info.curve_publickey, &info.curve_secretkey) {
            (None, None) => {}
            (Some(public), Some(secret)) if public.len() == 40 && secret.len() == 40 => {}
            _ => bail!("curve_publickey and curve_secretkey must both be 40-character Z85 keys"),
        }
        Ok(info)
    }

    /// The CURVE secret key the sockets serve with, when the connection is encrypted.
    pub fn curve_secret(&self) -> Option<&str> {
        self.curve_secretkey.as_deref()
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

    /// `.cargo/config.toml` links the system libzmq here, which has CURVE.
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    #[test]
    fn this_build_can_encrypt() {
        assert!(
            curve_available(),
            "libzmq has no CURVE: is libzmq3-dev installed and linked?"
        );
    }

    #[test]
    fn curve_keys_come_in_pairs() {
        let key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
        let both = FILE.replace(
            "\"kernel_name\"",
            &format!("\"curve_publickey\": \"{key}\", \"curve_secretkey\": \"{key}\", \"kernel_name\""),
        );
        assert_eq!(ConnectionInfo::parse(&both).unwrap().curve_secret(), Some(key));
        assert_eq!(ConnectionInfo::parse(FILE).unwrap().curve_secret(), None);
        let one = FILE.replace(
            "\"kernel_name\"",
            &format!("\"curve_secretkey\": \"{key}\", \"kernel_name\""),
        );
        assert!(ConnectionInfo::parse(&one).is_err());
        let short = both.replace(key, "short");
        assert!(ConnectionInfo::parse(&short).is_err());
    }

    #[test]
    fn rejects_unknown_scheme_and_transport() {
        assert!(ConnectionInfo::parse(&FILE.replace("hmac-sha256", "hmac-md5")).is_err());
        assert!(ConnectionInfo::parse(&FILE.replace("\"tcp\"", "\"udp\"")).is_err());
        assert!(ConnectionInfo::parse("{}").is_err());
    }
}
