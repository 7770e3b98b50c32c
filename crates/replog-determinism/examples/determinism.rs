//! Prints the determinism report of a log: `cargo run -p replog-determinism
//! --example determinism -- <log> [--json] [--static] [--ignore-context]`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |f: &str| args.iter().any(|a| a == f);
    let paths: Vec<std::path::PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(Into::into)
        .collect();
    let mut report = match replog_determinism::analyze_paths(&paths) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    if !flag("--static") {
        let opts = replog_determinism::DynamicOptions {
            ignore_context: flag("--ignore-context"),
            ..Default::default()
        };
        if opts.ignore_context {
            report = report.without_context();
        }
        match replog_determinism::run_dynamic(&paths, &report, &opts) {
            Ok(run) => report.attach_dynamic(run, false),
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        }
    }
    if flag("--json") {
        println!("{}", serde_json::to_string_pretty(&report).unwrap());
    } else {
        replog_determinism::render_table(&report, &mut std::io::stdout()).unwrap();
    }
}
