//! Prints the determinism report of a log: `cargo run -p replog-determinism
//! --example determinism -- <log> [--json]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let paths: Vec<std::path::PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(Into::into)
        .collect();
    match replog_determinism::analyze_paths(&paths) {
        Ok(report) if json => println!("{}", serde_json::to_string_pretty(&report).unwrap()),
        Ok(report) => replog_determinism::render_table(&report, &mut std::io::stdout()).unwrap(),
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    }
}
