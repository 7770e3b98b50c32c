//! The `replog` command: a thin `main` over the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    replog::main_with_args(std::env::args_os())
}
