//! Tensors as the protocol carries them, and their decoding into what a model takes.
//!
//! An input arrives as JSON (`data`, flat or nested), as bytes (Triton's binary tensor
//! extension over HTTP, `raw_input_contents` over gRPC: little-endian elements, `BYTES`
//! elements each a 4-byte little-endian length and its bytes) or as gRPC typed contents.
//! [`decode`] checks the element count against the shape and turns it into `f32`s or
//! texts; every error names the tensor and what is wrong. Only the datatypes our models
//! take are decoded (`FP32` and `BYTES`); others are named and refused.

use super::error::{ServeError, ServeResult};

/// The datatypes of the protocol, by their names.
pub const DATATYPES: &[&str] = &[
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32", "FP64",
    "BYTES", "BF16",
];

/// An input tensor's elements as they arrived.
#[derive(Debug, Clone)]
pub enum RawData {
    Json(serde_json::Value),
    /// Binary: HTTP's binary extension or one of gRPC's `raw_input_contents`.
    Bytes(Vec<u8>),
    /// gRPC `fp32_contents`.
    Fp32(Vec<f32>),
    /// gRPC `bytes_contents`.
    ByteStrings(Vec<Vec<u8>>),
    /// gRPC contents of another type, or none at all.
    Missing,
}

/// One input of a request, before it is checked against the model.
#[derive(Debug, Clone)]
pub struct InputTensor {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
    pub data: RawData,
}

/// An input checked and decoded: what the model's batcher merges.
#[derive(Debug, Clone)]
pub enum Decoded {
    Rows(Vec<f32>),
    Texts(Vec<String>),
}

/// The number of elements `shape` holds, or an error naming the tensor.
pub fn element_count(name: &str, shape: &[i64]) -> ServeResult<usize> {
    let mut count: usize = 1;
    for &d in shape {
        let d = usize::try_from(d).map_err(|_| {
            ServeError::bad(format!(
                "input '{name}': shape {shape:?} has a negative dimension"
            ))
        })?;
        count = count
            .checked_mul(d)
            .filter(|&c| c <= 1 << 31)
            .ok_or_else(|| ServeError::bad(format!("input '{name}': shape {shape:?} is too large")))?;
    }
    Ok(count)
}

/// The input's elements as the model's `datatype` (`FP32` or `BYTES`), `count` of them.
pub fn decode(input: InputTensor, want: &str, count: usize) -> ServeResult<Decoded> {
    let name = input.name.as_str();
    if input.datatype != want {
        let what = if DATATYPES.contains(&input.datatype.as_str()) {
            ""
        } else {
            " (not a datatype of the protocol)"
        };
        return Err(ServeError::bad(format!(
            "input '{name}' has datatype {}{what}; the model takes {want}",
            input.datatype
        )));
    }
    let got = |n: usize| {
        ServeError::bad(format!(
            "input '{name}' holds {n} elements; its shape {:?} needs {count}",
            input.shape
        ))
    };
    match want {
        "FP32" => {
            let values = match input.data {
                RawData::Json(v) => {
                    let mut out = Vec::with_capacity(count);
                    flatten_numbers(name, &v, &mut out, count)?;
                    out
                }
                RawData::Bytes(b) => {
                    if b.len() != count * 4 {
                        return Err(ServeError::bad(format!(
                            "input '{name}' has {} bytes of FP32 data; its shape {:?} needs {}",
                            b.len(),
                            input.shape,
                            count * 4
                        )));
                    }
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                        .collect()
                }
                RawData::Fp32(v) => v,
                RawData::ByteStrings(_) | RawData::Missing => {
                    return Err(ServeError::bad(format!(
                        "input '{name}' has no FP32 data (fp32_contents or raw contents)"
                    )))
                }
            };
            if values.len() != count {
                return Err(got(values.len()));
            }
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(ServeError::bad(format!(
                    "input '{name}': element {i} is not a finite number"
                )));
            }
            Ok(Decoded::Rows(values))
        }
        "BYTES" => {
            let strings = match input.data {
                RawData::Json(v) => {
                    let mut out = Vec::new();
                    flatten_strings(name, &v, &mut out, count)?;
                    out
                }
                RawData::Bytes(b) => split_bytes(name, &b, count)?,
                RawData::ByteStrings(v) => v,
                RawData::Fp32(_) | RawData::Missing => {
                    return Err(ServeError::bad(format!(
                        "input '{name}' has no BYTES data (bytes_contents or raw contents)"
                    )))
                }
            };
            if strings.len() != count {
                return Err(got(strings.len()));
            }
            let texts = strings
                .into_iter()
                .enumerate()
                .map(|(i, s)| {
                    String::from_utf8(s).map_err(|_| {
                        ServeError::bad(format!("input '{name}': element {i} is not UTF-8 text"))
                    })
                })
                .collect::<ServeResult<Vec<_>>>()?;
            Ok(Decoded::Texts(texts))
        }
        other => Err(ServeError::internal(format!("no decoder for datatype {other}"))),
    }
}

/// Numbers of a flat or nested JSON array, in row-major order; stops past `limit`.
fn flatten_numbers(name: &str, v: &serde_json::Value, out: &mut Vec<f32>, limit: usize) -> ServeResult<()> {
    match v {
        serde_json::Value::Number(n) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            out.push(x as f32);
            Ok(())
        }
        serde_json::Value::Array(items) => {
            for item in items {
                if out.len() > limit {
                    break;
                }
                flatten_numbers(name, item, out, limit)?;
            }
            Ok(())
        }
        other => Err(ServeError::bad(format!(
            "input '{name}': element {} is {}, not a number",
            out.len(),
            json_kind(other)
        ))),
    }
}

/// Strings of a flat or nested JSON array; stops past `limit`.
fn flatten_strings(
    name: &str,
    v: &serde_json::Value,
    out: &mut Vec<Vec<u8>>,
    limit: usize,
) -> ServeResult<()> {
    match v {
        serde_json::Value::String(s) => {
            out.push(s.as_bytes().to_vec());
            Ok(())
        }
        serde_json::Value::Array(items) => {
            for item in items {
                if out.len() > limit {
                    break;
                }
                flatten_strings(name, item, out, limit)?;
            }
            Ok(())
        }
        other => Err(ServeError::bad(format!(
            "input '{name}': element {} is {}, not a string",
            out.len(),
            json_kind(other)
        ))),
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// `BYTES` elements in binary: each a 4-byte little-endian length, then that many bytes.
pub fn split_bytes(name: &str, mut b: &[u8], count: usize) -> ServeResult<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(count.min(1 << 16));
    while !b.is_empty() {
        if b.len() < 4 {
            return Err(ServeError::bad(format!(
                "input '{name}': BYTES element {} is cut off in its 4-byte length",
                out.len()
            )));
        }
        let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        b = &b[4..];
        if len > b.len() {
            return Err(ServeError::bad(format!(
                "input '{name}': BYTES element {} says {len} bytes but {} remain",
                out.len(),
                b.len()
            )));
        }
        out.push(b[..len].to_vec());
        b = &b[len..];
        if out.len() > count {
            break;
        }
    }
    Ok(out)
}

/// `f32`s as little-endian bytes, the binary form of an `FP32` output.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(datatype: &str, shape: &[i64], data: RawData) -> InputTensor {
        InputTensor {
            name: "x".into(),
            datatype: datatype.into(),
            shape: shape.to_vec(),
            data,
        }
    }

    #[test]
    fn nested_and_flat_json_decode_alike() {
        let nested = decode(
            input("FP32", &[2, 2], RawData::Json(json!([[1, 2], [3, 4.5]]))),
            "FP32",
            4,
        )
        .unwrap();
        let flat = decode(
            input("FP32", &[2, 2], RawData::Json(json!([1, 2, 3, 4.5]))),
            "FP32",
            4,
        )
        .unwrap();
        let (Decoded::Rows(a), Decoded::Rows(b)) = (nested, flat) else {
            panic!()
        };
        assert_eq!(a, vec![1.0, 2.0, 3.0, 4.5]);
        assert_eq!(a, b);
    }

    #[test]
    fn wrong_counts_types_and_lying_lengths_are_named() {
        let e = decode(input("FP32", &[2, 2], RawData::Json(json!([1, 2, 3]))), "FP32", 4).unwrap_err();
        assert!(e.message.contains("holds 3 elements"), "{e}");
        let e = decode(input("INT64", &[1], RawData::Json(json!([1]))), "FP32", 1).unwrap_err();
        assert!(e.message.contains("datatype INT64"), "{e}");
        let e = decode(input("FP32", &[2], RawData::Json(json!([1, "a"]))), "FP32", 2).unwrap_err();
        assert!(e.message.contains("element 1 is a string"), "{e}");
        let e = decode(input("FP32", &[2], RawData::Bytes(vec![0; 7])), "FP32", 2).unwrap_err();
        assert!(e.message.contains("7 bytes"), "{e}");
        let mut lying = 100u32.to_le_bytes().to_vec();
        lying.extend_from_slice(b"abc");
        let e = decode(input("BYTES", &[1], RawData::Bytes(lying)), "BYTES", 1).unwrap_err();
        assert!(e.message.contains("says 100 bytes but 3 remain"), "{e}");
        let e = element_count("x", &[-1, 3]).unwrap_err();
        assert!(e.message.contains("negative"), "{e}");
    }

    #[test]
    fn binary_bytes_elements_decode_to_texts() {
        let mut b = Vec::new();
        for s in ["héllo", ""] {
            b.extend_from_slice(&(s.len() as u32).to_le_bytes());
            b.extend_from_slice(s.as_bytes());
        }
        let Decoded::Texts(t) = decode(input("BYTES", &[2], RawData::Bytes(b)), "BYTES", 2).unwrap() else {
            panic!()
        };
        assert_eq!(t, vec!["héllo".to_string(), String::new()]);
    }
}
