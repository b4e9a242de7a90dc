//! Writes a generated corpus as JSON lines (one `SearchDoc` per line).
//!
//! ```sh
//! cargo run --release -p kyso-search --example gen_corpus -- --docs 1000000 --seed 2026 > corpus.jsonl
//! ```

use std::io::{BufWriter, Write};

use kyso_search::corpus::Corpus;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut docs: u64 = 1_000_000;
    let mut seed: u64 = 2026;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--docs" => docs = args.next().ok_or("--docs N")?.replace('_', "").parse()?,
            "--seed" => seed = args.next().ok_or("--seed N")?.parse()?,
            other => return Err(format!("unknown argument {other}; use --docs N --seed N").into()),
        }
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    for doc in Corpus::new(seed, docs) {
        serde_json::to_writer(&mut out, &doc)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
