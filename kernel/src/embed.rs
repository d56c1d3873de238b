//! `ferrolab embed`: sentence embeddings (or token ids) from a pretrained BERT directory or
//! model id, one JSON object per input text on stdout, in input order.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use ferrolab::models::pretrained::{embed_records, read_texts};

#[derive(clap::Args)]
pub struct EmbedArgs {
    /// A Hugging Face BERT directory, or a model id found in the local Hugging Face cache.
    #[arg(long)]
    model: String,
    /// Texts to embed (or use --file / --jsonl).
    texts: Vec<String>,
    /// One text per line.
    #[arg(long, conflicts_with_all = ["texts", "jsonl"])]
    file: Option<PathBuf>,
    /// One JSON object per line with a string field `text` (other fields ignored).
    #[arg(long, conflicts_with = "texts")]
    jsonl: Option<PathBuf>,
    /// Print token ids only, without reading the model's weights.
    #[arg(long)]
    tokens_only: bool,
}

pub fn run(args: EmbedArgs) -> Result<()> {
    let texts = match (&args.file, &args.jsonl) {
        (Some(file), _) => read_texts(file, false)?,
        (_, Some(file)) => read_texts(file, true)?,
        _ => args.texts,
    };
    if texts.is_empty() {
        bail!("no texts: give them as arguments, or with --file or --jsonl");
    }
    let records = embed_records(&args.model, &texts, args.tokens_only)?;
    let mut out = std::io::stdout().lock();
    for record in records {
        writeln!(out, "{record}")?;
    }
    Ok(())
}
