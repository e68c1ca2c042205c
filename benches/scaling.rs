//! Criterion: every public entry point a request reaches, at `n` and `2n`
//! (the cases are in `scaling/cases/`, shared with `tests/scaling.rs`).
//!
//! `cargo bench --bench scaling` ends with a table of time(n), time(2n)
//! and their ratio per case: about 2 is linear, about 4 quadratic. Cases
//! marked `known` are super-linear today in code owned elsewhere.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, SamplingMode};

#[path = "scaling/cases/mod.rs"]
mod cases;

const GROUP: &str = "scaling";

fn benches(c: &mut Criterion) {
    let enc = cases::encoding();
    let mut group = c.benchmark_group(GROUP);
    group.sample_size(10).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    group.sampling_mode(SamplingMode::Flat);
    for case in cases::all() {
        for n in [case.bench_n, 2 * case.bench_n] {
            let mut op = (case.make)(&enc, n);
            group.bench_function(BenchmarkId::new(case.name, n), |b| b.iter(&mut op));
        }
    }
    group.finish();
}

/// Criterion's estimate (ns) of one benchmark, from its JSON report.
fn estimate(dir: &Path, name: &str, n: usize) -> Option<f64> {
    let path = dir.join(GROUP).join(name.replace('/', "_")).join(n.to_string()).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    json["median"]["point_estimate"].as_f64()
}

fn report() {
    let dir = std::env::var_os("CRITERION_HOME").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into())).join("criterion")
    });
    println!("\n| entry point | n | time(n) | time(2n) | ratio |\n|---|---|---|---|---|");
    for case in cases::all() {
        let (Some(a), Some(b)) = (estimate(&dir, case.name, case.bench_n), estimate(&dir, case.name, 2 * case.bench_n))
        else {
            continue;
        };
        let known = case.known.map(|k| format!(" (known: {k})")).unwrap_or_default();
        println!("| {}{known} | {} | {:.3} ms | {:.3} ms | {:.2} |", case.name, case.bench_n, a / 1e6, b / 1e6, b / a);
    }
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
    report();
}
