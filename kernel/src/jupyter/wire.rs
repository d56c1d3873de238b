//! The Jupyter wire format: multipart framing, HMAC-SHA256 signing and the
//! message header.
//!
//! A message on the wire is `[ids…, <IDS|MSG>, hmac_hex, header, parent_header,
//! metadata, content, buffers…]`; the signature covers the four JSON dicts.
//! Decoding checks the signature before it parses anything, so unsigned or
//! forged input never reaches JSON parsing or a handler. This module knows no
//! message types beyond the header; their contents are in `messages.rs`.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;

/// Separates routing identities from the message proper.
pub const DELIMITER: &[u8] = b"<IDS|MSG>";

/// The protocol version this kernel speaks (what ipykernel and evcxr report).
pub const PROTOCOL_VERSION: &str = "5.3";

/// Signs and verifies messages with the connection file's key.
#[derive(Clone)]
pub struct Signer {
    /// `None` for an empty key: messages carry an empty signature.
    mac: Option<Hmac<Sha256>>,
}

impl Signer {
    pub fn new(key: &str) -> Self {
        let mac = (!key.is_empty())
            .then(|| Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length"));
        Self { mac }
    }

    /// The hex HMAC of the parts, or an empty string without a key.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        match &self.mac {
            None => String::new(),
            Some(mac) => {
                let mut mac = mac.clone();
                parts.iter().for_each(|p| mac.update(p));
                hex::encode(mac.finalize().into_bytes())
            }
        }
    }

    /// Checks `signature` (hex) in constant time. Without a key, only an
    /// empty signature is accepted.
    pub fn verify(&self, signature: &[u8], parts: &[&[u8]]) -> bool {
        match &self.mac {
            None => signature.is_empty(),
            Some(mac) => {
                let Ok(expected) = hex::decode(signature) else {
                    return false;
                };
                let mut mac = mac.clone();
                parts.iter().for_each(|p| mac.update(p));
                mac.verify_slice(&expected).is_ok()
            }
        }
    }
}

/// The message header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub msg_id: String,
    #[serde(default)]
    pub session: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub date: String,
    pub msg_type: String,
    #[serde(default)]
    pub version: String,
}

impl Header {
    /// A fresh header from this kernel's session.
    pub fn new(msg_type: &str, session: &str) -> Self {
        Self {
            msg_id: uuid::Uuid::new_v4().to_string(),
            session: session.to_string(),
            username: "kernel".into(),
            date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            msg_type: msg_type.to_string(),
            version: PROTOCOL_VERSION.into(),
        }
    }
}

/// A message after verification and JSON parsing. `content` stays a JSON
/// object here; handlers decode it into the typed request they expect.
#[derive(Debug, Clone)]
pub struct Message {
    /// Routing identities (ROUTER sockets) or the topic (IOPub).
    pub ids: Vec<Vec<u8>>,
    pub header: Header,
    /// The request's header, or `{}` for unsolicited messages.
    pub parent_header: Value,
    pub metadata: Map<String, Value>,
    pub content: Value,
    pub buffers: Vec<Vec<u8>>,
}

/// Why incoming frames were not a usable message.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("no <IDS|MSG> delimiter in {0} frames")]
    NoDelimiter(usize),
    #[error("only {0} frames after the delimiter; 5 are needed")]
    MissingParts(usize),
    #[error("signature does not match")]
    BadSignature,
    #[error("unreadable header: {0}")]
    BadHeader(String),
    /// The header was fine, so the sender can be told what was wrong.
    #[error("{part} of {msg_type}: {error}", msg_type = header.msg_type)]
    BadPart {
        ids: Vec<Vec<u8>>,
        header: Box<Header>,
        part: &'static str,
        error: String,
    },
}

impl Message {
    /// A message answering (or published on behalf of) `parent`, from the
    /// kernel's own `session`.
    pub fn child(parent: &Message, msg_type: &str, content: Value, session: &str) -> Self {
        Self {
            ids: parent.ids.clone(),
            parent_header: serde_json::to_value(&parent.header).unwrap_or_default(),
            ..Self::unsolicited(msg_type, content, session)
        }
    }

    /// A message the kernel sends on its own (no parent), e.g. `iopub_welcome`.
    pub fn unsolicited(msg_type: &str, content: Value, session: &str) -> Self {
        Self {
            ids: Vec::new(),
            header: Header::new(msg_type, session),
            parent_header: Value::Object(Map::new()),
            metadata: Map::new(),
            content,
            buffers: Vec::new(),
        }
    }

    /// Verifies and parses multipart frames.
    pub fn decode(mut frames: Vec<Vec<u8>>, signer: &Signer) -> Result<Self, WireError> {
        let delim = frames
            .iter()
            .position(|f| f == DELIMITER)
            .ok_or(WireError::NoDelimiter(frames.len()))?;
        let rest = frames.len() - delim - 1;
        if rest < 5 {
            return Err(WireError::MissingParts(rest));
        }
        let mut tail = frames.split_off(delim + 1);
        frames.truncate(delim);
        let ids = frames;
        let buffers = tail.split_off(5);
        let [signature, header, parent, metadata, content]: [Vec<u8>; 5] =
            tail.try_into().expect("split_off left exactly five");
        if !signer.verify(&signature, &[&header, &parent, &metadata, &content]) {
            return Err(WireError::BadSignature);
        }
        let header: Header =
            serde_json::from_slice(&header).map_err(|e| WireError::BadHeader(e.to_string()))?;
        let bad = |part, error: String| WireError::BadPart {
            ids: ids.clone(),
            header: Box::new(header.clone()),
            part,
            error,
        };
        let object = |bytes: &[u8], part| match serde_json::from_slice(bytes) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(bad(part, "not a JSON object".into())),
            Err(e) => Err(bad(part, e.to_string())),
        };
        let parent_header = Value::Object(object(&parent, "parent_header")?);
        let metadata = object(&metadata, "metadata")?;
        let content = Value::Object(object(&content, "content")?);
        Ok(Self {
            ids,
            header,
            parent_header,
            metadata,
            content,
            buffers,
        })
    }

    /// Serialises and signs the message into frames.
    pub fn encode(&self, signer: &Signer) -> Vec<Vec<u8>> {
        let header = to_json(&self.header);
        let parent = to_json(&self.parent_header);
        let metadata = to_json(&self.metadata);
        let content = to_json(&self.content);
        let signature = signer.sign(&[&header, &parent, &metadata, &content]);
        let mut frames = self.ids.clone();
        frames.push(DELIMITER.to_vec());
        frames.push(signature.into_bytes());
        frames.extend([header, parent, metadata, content]);
        frames.extend(self.buffers.iter().cloned());
        frames
    }
}

/// Serialises a message part; these types (headers, JSON values) cannot fail.
fn to_json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Message {
        Message {
            ids: vec![b"client".to_vec()],
            header: Header::new("kernel_info_request", "s"),
            parent_header: json!({}),
            metadata: Map::new(),
            content: json!({}),
            buffers: vec![b"buf".to_vec()],
        }
    }

    #[test]
    fn round_trip_and_signature() {
        let signer = Signer::new("secret");
        let frames = sample().encode(&signer);
        assert_eq!(frames[1], DELIMITER);
        assert_eq!(frames[2].len(), 64);
        let back = Message::decode(frames.clone(), &signer).unwrap();
        assert_eq!(back.ids, vec![b"client".to_vec()]);
        assert_eq!(back.header.msg_type, "kernel_info_request");
        assert_eq!(back.buffers, vec![b"buf".to_vec()]);

        let other = Signer::new("other");
        assert!(matches!(
            Message::decode(frames.clone(), &other),
            Err(WireError::BadSignature)
        ));
        let mut tampered = frames;
        tampered[6] = br#"{"x":1}"#.to_vec();
        assert!(matches!(
            Message::decode(tampered, &signer),
            Err(WireError::BadSignature)
        ));
    }

    #[test]
    fn empty_key_means_empty_signature() {
        let signer = Signer::new("");
        let frames = sample().encode(&signer);
        assert!(frames[2].is_empty());
        assert!(Message::decode(frames, &signer).is_ok());
        let signed = sample().encode(&Signer::new("k"));
        assert!(matches!(
            Message::decode(signed, &signer),
            Err(WireError::BadSignature)
        ));
    }

    #[test]
    fn malformed_frames() {
        let signer = Signer::new("k");
        assert!(matches!(
            Message::decode(vec![b"x".to_vec()], &signer),
            Err(WireError::NoDelimiter(1))
        ));
        let mut frames = sample().encode(&signer);
        frames.truncate(5);
        assert!(matches!(
            Message::decode(frames, &signer),
            Err(WireError::MissingParts(3))
        ));

        let mut frames = sample().encode(&signer);
        frames[6] = b"[1]".to_vec();
        let sig = signer.sign(&[&frames[3], &frames[4], &frames[5], &frames[6]]);
        frames[2] = sig.into_bytes();
        assert!(matches!(
            Message::decode(frames, &signer),
            Err(WireError::BadPart { part: "content", .. })
        ));
    }
}
