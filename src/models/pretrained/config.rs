//! A Hugging Face BERT `config.json`, read field by field so that a wrong one is named.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::error::{PretrainedError, PretrainedResult};
use crate::nn::Activation;

/// The sizes and settings of a pretrained BERT, from its `config.json`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PretrainedConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    pub layer_norm_eps: f64,
    /// `hidden_act`: `"gelu"` (exact, erf) or `"relu"`.
    pub activation: Activation,
    pub pad_token_id: usize,
}

impl PretrainedConfig {
    /// Reads `config.json`.
    pub fn from_file(path: impl AsRef<Path>) -> PretrainedResult<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| PretrainedError::io(path, e))?;
        Self::from_json_str(path, &text)
    }

    /// Parses config text; `file` names it in errors.
    pub fn from_json_str(file: impl Into<PathBuf>, text: &str) -> PretrainedResult<Self> {
        let file = file.into();
        let json: Value = serde_json::from_str(text)
            .map_err(|e| PretrainedError::file(&file, format!("not valid JSON: {e}")))?;
        let fields = Fields {
            file: &file,
            json: &json,
        };
        if !json.is_object() {
            return Err(PretrainedError::file(&file, "expected a JSON object"));
        }
        if let Some(kind) = fields.string("position_embedding_type", Some("absolute"))? {
            if kind != "absolute" {
                return Err(fields.bad("position_embedding_type", "\"absolute\"", &format!("\"{kind}\"")));
            }
        }
        let act = fields.string("hidden_act", Some("gelu"))?.unwrap_or_default();
        let activation = match act.as_str() {
            "gelu" => Activation::Gelu,
            "relu" => Activation::Relu,
            other => {
                return Err(fields.bad(
                    "hidden_act",
                    "an activation we have: \"gelu\" (exact, erf) or \"relu\"",
                    &format!("\"{other}\""),
                ))
            }
        };
        let cfg = PretrainedConfig {
            vocab_size: fields.count("vocab_size", None)?,
            hidden_size: fields.count("hidden_size", None)?,
            num_hidden_layers: fields.count("num_hidden_layers", None)?,
            num_attention_heads: fields.count("num_attention_heads", None)?,
            intermediate_size: fields.count("intermediate_size", None)?,
            max_position_embeddings: fields.count("max_position_embeddings", Some(512))?,
            type_vocab_size: fields.count("type_vocab_size", Some(2))?,
            layer_norm_eps: fields.number("layer_norm_eps", Some(1e-12))?,
            activation,
            pad_token_id: fields.count("pad_token_id", Some(0))?,
        };
        let h = cfg.hidden_size;
        if cfg.num_attention_heads == 0 || !h.is_multiple_of(cfg.num_attention_heads) {
            let found = format!("{} heads for hidden size {h}", cfg.num_attention_heads);
            return Err(fields.bad("num_attention_heads", "a divisor of hidden_size", &found));
        }
        Ok(cfg)
    }

    /// As `config.json` writes it, for [`super::BertModel::save_pretrained`].
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "architectures": ["BertModel"],
            "model_type": "bert",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size,
            "max_position_embeddings": self.max_position_embeddings,
            "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps,
            "hidden_act": match self.activation { Activation::Gelu => "gelu", Activation::Relu => "relu" },
            "pad_token_id": self.pad_token_id,
            "position_embedding_type": "absolute",
        })
    }
}

struct Fields<'a> {
    file: &'a Path,
    json: &'a Value,
}

impl Fields<'_> {
    fn bad(&self, field: &str, expected: &str, found: &str) -> PretrainedError {
        PretrainedError::Field {
            file: self.file.to_path_buf(),
            field: field.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    fn get(&self, field: &str) -> Option<&Value> {
        self.json.get(field).filter(|v| !v.is_null())
    }

    /// A whole non-negative number; `default` when absent (an error when there is none).
    fn count(&self, field: &str, default: Option<usize>) -> PretrainedResult<usize> {
        match self.get(field) {
            None => {
                default.ok_or_else(|| self.bad(field, "a whole number", "nothing (the field is missing)"))
            }
            Some(v) => v
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| self.bad(field, "a whole number ≥ 0", &describe(v))),
        }
    }

    fn number(&self, field: &str, default: Option<f64>) -> PretrainedResult<f64> {
        match self.get(field) {
            None => default.ok_or_else(|| self.bad(field, "a number", "nothing (the field is missing)")),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| self.bad(field, "a number", &describe(v))),
        }
    }

    fn string(&self, field: &str, default: Option<&str>) -> PretrainedResult<Option<String>> {
        match self.get(field) {
            None => Ok(default.map(str::to_string)),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.bad(field, "a string", &describe(v))),
        }
    }
}

/// A JSON value as an error message shows it: its kind and the value.
fn describe(v: &Value) -> String {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a fractional number",
        Value::Number(n) if n.is_i64() && n.as_i64().unwrap_or(0) < 0 => "a negative number",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let mut text = v.to_string();
    if text.len() > 40 {
        text.truncate(40);
        text.push('…');
    }
    format!("{kind} {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 16, "hidden_act": "gelu"}"#;

    #[test]
    fn reads_fields_with_defaults() {
        let c = PretrainedConfig::from_json_str("config.json", GOOD).unwrap();
        assert_eq!(
            (c.hidden_size, c.num_hidden_layers, c.max_position_embeddings),
            (8, 2, 512)
        );
        assert_eq!(c.layer_norm_eps, 1e-12);
        assert_eq!(c.activation, Activation::Gelu);
        let back = PretrainedConfig::from_json_str("c", &c.to_json().to_string()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn errors_name_the_file_and_field() {
        let err = |text: &str| {
            PretrainedConfig::from_json_str("dir/config.json", text)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&GOOD.replace("\"hidden_size\": 8", "\"hidden_size\": \"8\"")),
            "dir/config.json: field `hidden_size`: expected a whole number ≥ 0, found a string \"8\""
        );
        assert_eq!(
            err(&GOOD.replace("\"num_hidden_layers\": 2,", "")),
            "dir/config.json: field `num_hidden_layers`: expected a whole number, found nothing (the field is missing)"
        );
        assert!(err(&GOOD.replace("\"gelu\"", "\"swish\"")).contains("field `hidden_act`"));
        assert!(err(&GOOD.replace("\"gelu\"", "\"swish\"")).ends_with("found \"swish\""));
        assert!(err(&GOOD.replace("\"hidden_size\": 8", "\"hidden_size\": 7"))
            .contains("a divisor of hidden_size"));
        assert!(err("{").starts_with("dir/config.json: not valid JSON"));
    }
}
