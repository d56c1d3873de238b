//! What a command such as `ferrolab embed --model DIR [TEXT… | --file F | --jsonl F]
//! [--tokens-only]` needs: the texts read from a file, and one JSON record per text, in input
//! order: `{"text": …, "ids": […], "embedding": […]}` (no `embedding` with tokens only).

use std::path::Path;

use serde_json::{json, Value};

use super::error::{PretrainedError, PretrainedResult};
use super::{load_tokenizer, BertModel};

/// Texts from `file`: one per line (a trailing `\r` dropped), or with `jsonl` one JSON object
/// per line whose string field `text` is the text (other fields ignored; blank lines skipped),
/// for texts that hold newlines.
pub fn read_texts(file: &Path, jsonl: bool) -> PretrainedResult<Vec<String>> {
    let content = std::fs::read_to_string(file).map_err(|e| PretrainedError::io(file, e))?;
    if !jsonl {
        return Ok(content
            .lines()
            .map(|l| l.trim_end_matches('\r').to_string())
            .collect());
    }
    let mut texts = Vec::new();
    for (i, line) in content.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| PretrainedError::file(file, format!("line {}: not JSON: {e}", i + 1)))?;
        match value.get("text") {
            Some(Value::String(t)) => texts.push(t.clone()),
            _ => {
                let why = format!("line {}: expected an object with a string field \"text\"", i + 1);
                return Err(PretrainedError::file(file, why));
            }
        }
    }
    Ok(texts)
}

/// One record per text, in order. With `tokens_only` the weights are not read.
pub fn embed_records<S: AsRef<str>>(
    path_or_id: &str,
    texts: &[S],
    tokens_only: bool,
) -> PretrainedResult<Vec<Value>> {
    if tokens_only {
        let (wp, max_len) = load_tokenizer(path_or_id)?;
        return Ok(texts
            .iter()
            .map(|t| json!({"text": t.as_ref(), "ids": wp.encode_text(t.as_ref(), max_len).ids}))
            .collect());
    }
    let model = BertModel::from_pretrained(path_or_id)?;
    let embeddings = model.embed(texts)?;
    Ok(texts
        .iter()
        .zip(embeddings)
        .map(|(t, e)| {
            let ids = model.tokenizer.encode_text(t.as_ref(), model.max_len).ids;
            json!({"text": t.as_ref(), "ids": ids, "embedding": e})
        })
        .collect())
}
