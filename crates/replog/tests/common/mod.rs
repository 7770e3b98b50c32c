//! Helpers shared by the CLI tests that include this module.

use clap::Parser;
use replog::{Cli, Verdict};
use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `replog ARGS` in this process: its outcome and standard output.
pub fn run(args: &[&str]) -> (anyhow::Result<Verdict>, String) {
    let cli = Cli::try_parse_from(std::iter::once("replog").chain(args.iter().copied()))
        .expect("arguments parse");
    let mut out = Vec::new();
    let r = replog::run(cli, &mut out);
    (r, String::from_utf8(out).expect("utf-8 output"))
}
