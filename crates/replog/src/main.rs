//! The `replog` command: a thin `main` over the library.

use std::process::ExitCode;

/// Decoding rows allocates many small values; mimalloc serves them faster
/// than the system allocator (BENCHMARKS.md §9).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    replog::main_with_args(std::env::args_os())
}
