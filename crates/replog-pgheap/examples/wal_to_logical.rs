//! PostgreSQL WAL decoded with its catalog into a logical log file, as
//! `replog convert WAL --catalog FILE --to logical -o OUT` does (the same
//! `PgWalSource` and `write_source`), without building the CLI: for
//! measuring the decoding (`benches/pgheap-1gb.sh` with `EXAMPLE=1`).
//!
//!     cargo run --release -p replog-pgheap --example wal_to_logical -- \
//!         PG_WAL_DIR CATALOG OUT [SPILL_LIMIT_BYTES]

use std::io::BufWriter;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, catalog, out, rest @ ..] = &args[..] else {
        return Err("usage: wal_to_logical PG_WAL_DIR CATALOG OUT [SPILL_LIMIT_BYTES]".into());
    };
    let segments: Vec<PathBuf> = replog_pgwal::segment::list_directory(std::path::Path::new(dir))?;
    let input = replog_pgheap::PgWalInput {
        segments,
        catalog: PathBuf::from(catalog),
        spill_limit: rest.first().map(|s| s.parse()).transpose()?,
    };
    let mut src = replog_pgheap::source::open(&input)?;
    let file = BufWriter::new(std::fs::File::create(out)?);
    let file = replog_core::writer::write_source(&mut src, file, |_| {})?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    let doc = serde_json::json!({ "output": out, "decoded": src.producer().report() });
    println!("{doc}");
    Ok(())
}
