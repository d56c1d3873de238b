//! Loading tiny synthetic BERT checkpoints written here with the `safetensors` crate: every
//! way a directory can be wrong gives an error naming the file and the tensor or field, with
//! what was expected and what was found; f16/bf16 weights, the `bert.` prefix, unused tensors,
//! model ids in the Hugging Face cache and `save_pretrained` round trips.

use std::path::Path;

use ::safetensors::tensor::{Dtype as StDtype, TensorView};
use ferrolab::models::pretrained::{resolve_model_dir, PretrainedConfig};
use ferrolab::prelude::*;

const HIDDEN: usize = 8;
const FF: usize = 16;
const LAYERS: usize = 2;
const POSITIONS: usize = 16;
const VOCAB: &str = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\ncat\nsat\non\nmat\n##s\n.\n,\n!\na\n";

fn config(layers: usize) -> String {
    serde_json::json!({
        "architectures": ["BertModel"], "vocab_size": 15, "hidden_size": HIDDEN,
        "num_hidden_layers": layers, "num_attention_heads": 2, "intermediate_size": FF,
        "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        "hidden_act": "gelu", "pad_token_id": 0
    })
    .to_string()
}

/// Every tensor of a BertModel with Hugging Face's names and shapes.
fn bert_tensors(layers: usize) -> Vec<(String, Vec<usize>)> {
    let h = HIDDEN;
    let mut t = vec![
        ("embeddings.word_embeddings.weight".to_string(), vec![15, h]),
        ("embeddings.position_embeddings.weight".into(), vec![POSITIONS, h]),
        ("embeddings.token_type_embeddings.weight".into(), vec![2, h]),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for i in 0..layers {
        let at = format!("encoder.layer.{i}");
        for (name, out, inp) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", FF, h),
            ("output.dense", h, FF),
        ] {
            t.push((format!("{at}.{name}.weight"), vec![out, inp]));
            t.push((format!("{at}.{name}.bias"), vec![out]));
        }
        for name in ["attention.output.LayerNorm", "output.LayerNorm"] {
            t.push((format!("{at}.{name}.weight"), vec![h]));
            t.push((format!("{at}.{name}.bias"), vec![h]));
        }
    }
    t.push(("pooler.dense.weight".into(), vec![h, h]));
    t.push(("pooler.dense.bias".into(), vec![h]));
    t
}

/// Deterministic values, small enough for every dtype.
fn values(name: &str, n: usize) -> Vec<f32> {
    let seed = name.bytes().map(|b| b as f32).sum::<f32>();
    (0..n).map(|i| (i as f32 * 0.37 + seed).sin() * 0.25).collect()
}

fn write_dir(dir: &Path, tensors: &[(String, Vec<usize>)], dtype: StDtype, config_text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("config.json"), config_text).unwrap();
    std::fs::write(dir.join("vocab.txt"), VOCAB).unwrap();
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, shape)| {
            let v = values(name, shape.iter().product());
            let b: Vec<u8> = match dtype {
                StDtype::F32 => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
                StDtype::BF16 => v
                    .iter()
                    .flat_map(|x| ((x.to_bits() >> 16) as u16).to_le_bytes())
                    .collect(),
                StDtype::F16 => v.iter().flat_map(|x| f32_to_f16(*x).to_le_bytes()).collect(),
                _ => unreachable!(),
            };
            (name.clone(), shape.clone(), b)
        })
        .collect();
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| (n.clone(), TensorView::new(dtype, s.clone(), b).unwrap()))
        .collect();
    std::fs::write(
        dir.join("model.safetensors"),
        ::safetensors::serialize(views, &None).unwrap(),
    )
    .unwrap();
}

/// Round to nearest half precision (normal range only, enough for these values).
fn f32_to_f16(x: f32) -> u16 {
    if x == 0.0 {
        return 0;
    }
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    if exp <= 0 {
        return sign; // flush tiny values to zero
    }
    let frac = bits & 0x7f_ffff;
    let mut h = (sign as u32) | ((exp as u32) << 10) | (frac >> 13);
    if frac & 0x1fff > 0x1000 || (frac & 0x1fff == 0x1000 && h & 1 == 1) {
        h += 1;
    }
    h as u16
}

fn load_err(dir: &Path) -> String {
    BertModel::from_pretrained(dir.to_str().unwrap())
        .unwrap_err()
        .to_string()
}

fn hidden(model: &BertModel<f32, Cpu>) -> Vec<f32> {
    let batch = model
        .tokenizer
        .encode_batch(&["the cat sat on the mat.", "cats!"], 16);
    model.last_hidden_state(&batch).unwrap().as_vec()
}

#[test]
fn a_good_checkpoint_loads_with_its_layer_count() {
    let tmp = tempfile::tempdir().unwrap();
    for layers in [1, 3] {
        let dir = tmp.path().join(format!("l{layers}"));
        write_dir(&dir, &bert_tensors(layers), StDtype::F32, &config(layers));
        let model = BertModel::from_pretrained(dir.to_str().unwrap()).unwrap();
        assert_eq!(model.layers.len(), layers);
        assert!(model.unused.is_empty());
        assert!(model.pooler.is_some());
        let h = hidden(&model);
        assert_eq!(h.len(), 2 * 9 * HIDDEN);
        assert!(h.iter().all(|v| v.is_finite()));
        let e = model.embed(&["the cat", "the cat", "a mat"]).unwrap();
        assert_eq!(e[0], e[1]);
        assert_ne!(e[0], e[2]);
        assert!(!model.normalize, "no modules.json");
    }
}

#[test]
fn missing_and_misshapen_tensors_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut tensors = bert_tensors(LAYERS);
    tensors.retain(|(n, _)| n != "encoder.layer.1.attention.self.key.weight");
    write_dir(tmp.path(), &tensors, StDtype::F32, &config(LAYERS));
    let file = tmp.path().join("model.safetensors");
    assert_eq!(
        load_err(tmp.path()),
        format!(
            "{}: tensor `encoder.layer.1.attention.self.key.weight` is missing (expected shape [8, 8])",
            file.display()
        )
    );

    let mut tensors = bert_tensors(LAYERS);
    for (n, s) in tensors.iter_mut() {
        if n == "encoder.layer.0.intermediate.dense.weight" {
            *s = vec![HIDDEN, FF]; // transposed
        }
    }
    write_dir(tmp.path(), &tensors, StDtype::F32, &config(LAYERS));
    assert_eq!(
        load_err(tmp.path()),
        format!(
            "{}: tensor `encoder.layer.0.intermediate.dense.weight`: expected shape [16, 8], found shape [8, 16]",
            file.display()
        )
    );

    // A config asking for more layers than the checkpoint holds.
    write_dir(tmp.path(), &bert_tensors(LAYERS), StDtype::F32, &config(3));
    assert!(load_err(tmp.path()).contains("tensor `encoder.layer.2.attention.self.query.weight` is missing"));
}

#[test]
fn config_fields_of_the_wrong_type_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("config.json");
    let bad = config(LAYERS).replace("\"hidden_size\":8", "\"hidden_size\":8.5");
    write_dir(tmp.path(), &bert_tensors(LAYERS), StDtype::F32, &bad);
    assert_eq!(
        load_err(tmp.path()),
        format!(
            "{}: field `hidden_size`: expected a whole number ≥ 0, found a fractional number 8.5",
            file.display()
        )
    );
    let bad = config(LAYERS).replace("\"gelu\"", "\"gelu_new\"");
    write_dir(tmp.path(), &bert_tensors(LAYERS), StDtype::F32, &bad);
    assert_eq!(
        load_err(tmp.path()),
        format!(
            "{}: field `hidden_act`: expected an activation we have: \"gelu\" (exact, erf) or \"relu\", found \"gelu_new\"",
            file.display()
        )
    );
    let bad = config(LAYERS).replace("\"vocab_size\":15", "\"vocab_size\":14");
    write_dir(tmp.path(), &bert_tensors(LAYERS), StDtype::F32, &bad);
    assert!(load_err(tmp.path())
        .contains("field `vocab_size`: expected at least the 15 lines of vocab.txt, found 14"));
    let err = PretrainedConfig::from_json_str("c.json", "[1]")
        .unwrap_err()
        .to_string();
    assert_eq!(err, "c.json: expected a JSON object");
}

#[test]
fn half_precision_prefix_and_unused_tensors() {
    let tmp = tempfile::tempdir().unwrap();
    let f32_dir = tmp.path().join("f32");
    write_dir(&f32_dir, &bert_tensors(LAYERS), StDtype::F32, &config(LAYERS));
    let reference = hidden(&BertModel::from_pretrained(f32_dir.to_str().unwrap()).unwrap());
    for dtype in [StDtype::F16, StDtype::BF16] {
        let dir = tmp.path().join(format!("{dtype:?}"));
        write_dir(&dir, &bert_tensors(LAYERS), dtype, &config(LAYERS));
        let got = hidden(&BertModel::from_pretrained(dir.to_str().unwrap()).unwrap());
        let diff = reference
            .iter()
            .zip(&got)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff < 0.05, "{dtype:?}: max difference {diff}");
        assert!(diff > 0.0, "{dtype:?} rounds the weights");
    }
    // A BertForMaskedLM-style file: `bert.` prefix, a pretraining head nobody uses.
    let dir = tmp.path().join("prefixed");
    let mut tensors: Vec<_> = bert_tensors(LAYERS)
        .into_iter()
        .map(|(n, s)| (format!("bert.{n}"), s))
        .collect();
    tensors.push(("cls.predictions.bias".into(), vec![15]));
    tensors.push(("bert.embeddings.position_ids".into(), vec![1, POSITIONS]));
    write_dir(&dir, &tensors, StDtype::F32, &config(LAYERS));
    let model = BertModel::from_pretrained(dir.to_str().unwrap()).unwrap();
    assert_eq!(model.unused, vec!["cls.predictions.bias".to_string()]);
    // Values differ (names feed the synthetic values), but everything loads and runs.
    assert!(hidden(&model).iter().all(|v| v.is_finite()));
}

#[test]
fn save_pretrained_round_trips_and_classifier_takes_the_encoder() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write_dir(&src, &bert_tensors(LAYERS), StDtype::F32, &config(LAYERS));
    let model = BertModel::from_pretrained(src.to_str().unwrap()).unwrap();
    let out = tmp.path().join("out");
    model.save_pretrained(&out).unwrap();
    let again = BertModel::from_pretrained(out.to_str().unwrap()).unwrap();
    assert_eq!(hidden(&model), hidden(&again));
    assert_eq!(again.max_len, model.max_len);

    let (clf, wp) = BertClassifier::<f32, Cpu, LAYERS>::from_pretrained(src.to_str().unwrap(), 3, 7).unwrap();
    assert_eq!(clf.config().classes, 3);
    assert_eq!(wp.vocab_size(), 15);
    assert_eq!(
        clf.token_embedding.weight.as_vec(),
        model.token_embedding.weight.as_vec()
    );
    let dev = Cpu::default();
    let ids = dev.tensor_from_vec(wp.encode("the cat sat", 8), (1, 8));
    assert_eq!(clf.forward(ids).shape().concrete(), [1, 3]);
    let err = BertClassifier::<f32, Cpu, 4>::from_pretrained(src.to_str().unwrap(), 3, 7).unwrap_err();
    assert!(
        err.to_string().contains("field `num_hidden_layers`: expected 4"),
        "{err}"
    );
}

/// A trained classifier written with `BertClassifier::save_pretrained` and read back by
/// `BertSequenceClassifier` (layer count from `config.json`) gives the classifier's own logits
/// on a padded batch; a directory without a head says which tensor is missing.
#[test]
fn a_saved_classifier_loads_as_a_sequence_classifier_with_the_same_logits() {
    let tmp = tempfile::tempdir().unwrap();
    let wp = WordPiece::from_vocab_str("vocab", VOCAB).unwrap();
    let dev = Cpu::seed_from_u64(5);
    let mut cfg = BertConfig::small(wp.vocab_size(), 3);
    (cfg.hidden, cfg.heads, cfg.intermediate, cfg.max_position) = (HIDDEN, 2, FF, POSITIONS);
    let mut clf = BertClassifier::<f32, Cpu, LAYERS>::new(&dev, cfg).unwrap();
    clf.classifier.bias = dev.tensor_from_vec(vec![0.3, -0.2, 0.1], (3,));
    let dir = tmp.path().join("clf");
    clf.save_pretrained(&dir, &wp).unwrap();

    let served = BertSequenceClassifier::from_pretrained(dir.to_str().unwrap()).unwrap();
    assert_eq!(served.classes(), 3);
    assert!(served.bert.unused.is_empty(), "{:?}", served.bert.unused);
    let texts = ["the cat sat on the mat.", "cats!", "a mat, the mat"];
    let got = served.logits_of(&texts).unwrap();
    let batch = wp.encode_batch(&texts, POSITIONS);
    let ids = dev.tensor_from_vec(batch.ids.clone(), (batch.batch, batch.steps));
    let want = clf.forward(ids).as_vec();
    assert_eq!(got.len(), 9);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-5, "{got:?} vs {want:?}");
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(written["architectures"][0], "BertForSequenceClassification");
    assert_eq!(written["id2label"].as_object().unwrap().len(), 3);

    let encoder_only = tmp.path().join("encoder");
    write_dir(
        &encoder_only,
        &bert_tensors(LAYERS),
        StDtype::F32,
        &config(LAYERS),
    );
    let err = BertSequenceClassifier::from_pretrained(encoder_only.to_str().unwrap()).unwrap_err();
    assert!(err.to_string().contains("classifier.weight"), "{err}");
}

#[test]
fn model_ids_are_found_in_the_hugging_face_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("hub").join("models--org--tiny-bert");
    let snap = repo.join("snapshots").join("abc123");
    write_dir(&snap, &bert_tensors(1), StDtype::F32, &config(1));
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(repo.join("refs").join("main"), "abc123").unwrap();
    // Only this test touches HF_HOME and HF_HUB_CACHE.
    std::env::remove_var("HF_HUB_CACHE");
    std::env::set_var("HF_HOME", tmp.path());
    assert_eq!(resolve_model_dir("org/tiny-bert").unwrap(), snap);
    assert_eq!(
        BertModel::from_pretrained("org/tiny-bert").unwrap().layers.len(),
        1
    );
    let err = BertModel::from_pretrained("org/absent").unwrap_err().to_string();
    assert!(
        err.starts_with("model `org/absent` not found; looked in:\n  org/absent\n"),
        "{err}"
    );
    assert!(
        err.contains(
            &tmp.path()
                .join("hub/models--org--absent/snapshots")
                .display()
                .to_string()
        ),
        "{err}"
    );
    assert!(err.contains("hf download org/absent"), "{err}");
}

#[test]
fn records_for_an_embed_command() {
    use ferrolab::models::pretrained::{embed_records, read_texts};
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m");
    write_dir(&model, &bert_tensors(1), StDtype::F32, &config(1));
    let lines = tmp.path().join("texts.jsonl");
    std::fs::write(
        &lines,
        "{\"text\": \"the cat\\nsat\", \"id\": 1}\n\n{\"text\": \"a mat!\"}\n",
    )
    .unwrap();
    let texts = read_texts(&lines, true).unwrap();
    assert_eq!(texts, vec!["the cat\nsat", "a mat!"]);
    let m = model.to_str().unwrap();
    let tokens = embed_records(m, &texts, true).unwrap();
    assert_eq!(
        tokens[0],
        serde_json::json!({"text": "the cat\nsat", "ids": [2, 5, 6, 7, 3]})
    );
    let full = embed_records(m, &texts, false).unwrap();
    assert_eq!(full[1]["ids"], serde_json::json!([2, 14, 9, 13, 3]));
    assert_eq!(full[1]["embedding"].as_array().unwrap().len(), HIDDEN);

    std::fs::write(&lines, "{\"text\": \"fine\"}\n{\"body\": \"no text\"}\n").unwrap();
    let err = read_texts(&lines, true).unwrap_err().to_string();
    assert_eq!(
        err,
        format!(
            "{}: line 2: expected an object with a string field \"text\"",
            lines.display()
        )
    );
    std::fs::write(&lines, "one\r\ntwo\n").unwrap();
    assert_eq!(read_texts(&lines, false).unwrap(), vec!["one", "two"]);
}

#[test]
fn the_inference_path_gives_the_layers_numbers() {
    // The fused f32 path (fast kernels on) against the layers' generic dfdx forward, on a
    // padded batch: same hidden states, padding rows included.
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), &bert_tensors(LAYERS), StDtype::F32, &config(LAYERS));
    let model = BertModel::from_pretrained(tmp.path().to_str().unwrap()).unwrap();
    let fused = hidden(&model);
    ferrolab::nn::kernels::set_fast_kernels(false);
    let generic = hidden(&model);
    ferrolab::nn::kernels::set_fast_kernels(true);
    assert_eq!(fused.len(), generic.len());
    let worst = fused
        .iter()
        .zip(&generic)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "largest difference {worst}");
}

#[test]
fn a_weight_changed_between_passes_is_used_by_the_next() {
    // The inference path keeps its packed weights between calls; a weight changed in place
    // (dfdx's IndexMut, as an optimizer writes) or replaced must be seen by the next pass.
    let tmp = tempfile::tempdir().unwrap();
    write_dir(tmp.path(), &bert_tensors(LAYERS), StDtype::F32, &config(LAYERS));
    let mut model = BertModel::from_pretrained(tmp.path().to_str().unwrap()).unwrap();
    let first = hidden(&model);
    let largest_difference =
        |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    let w_1 = &mut model.layers[0].feed_forward.w_1.weight;
    for j in 0..FF {
        w_1[[j, j % HIDDEN]] += 2.0;
    }
    let w_2 = &mut model.layers[LAYERS - 1].feed_forward.w_2;
    w_2.bias = w_2.bias.clone() * 3.0;
    let second = hidden(&model);
    ferrolab::nn::kernels::set_fast_kernels(false);
    let generic = hidden(&model);
    ferrolab::nn::kernels::set_fast_kernels(true);
    assert!(
        largest_difference(&first, &second) > 1e-3,
        "the changed weights made no difference"
    );
    let worst = largest_difference(&second, &generic);
    assert!(
        worst < 1e-5,
        "after the change, largest difference from the layers {worst}"
    );
}
