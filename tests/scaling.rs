//! Every public entry point a request reaches costs linear (or n log n)
//! time: each case of `benches/scaling/cases` is timed at a size `n` and at
//! `2n` in one run, and the ratio must stay at most 3 (a quadratic cost
//! gives about 4). Never an absolute time: `n` is calibrated until one run
//! takes a few milliseconds, each size takes the best of five runs, and a
//! case is measured up to three times before it fails.
//!
//! `cargo test --test scaling -- --nocapture` prints the ratios. Cases known
//! to be super-linear elsewhere (`Case::known`) are only benched.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use openai_harmony::HarmonyEncoding;

#[path = "../benches/scaling/cases/mod.rs"]
mod cases;

use cases::Case;

/// The cases of one test take turns with the others: timings of two cases
/// at once would disturb each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const MAX_RATIO: f64 = 3.0;
const ATTEMPTS: usize = 3;
const REPS: usize = 5;
/// One run at `n` should take at least this long before it is measured.
const CALIBRATED: Duration = Duration::from_millis(4);
const MAX_DOUBLINGS: usize = 6;

fn best_of(op: &mut cases::Op, reps: usize) -> Duration {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            op();
            t.elapsed()
        })
        .min()
        .unwrap_or_default()
}

/// The ratio time(2n) / time(n) for a calibrated `n`, best of several
/// runs each, the two sizes interleaved.
fn ratio(enc: &HarmonyEncoding, case: &Case, n: usize) -> (f64, Duration, Duration) {
    let mut small = (case.make)(enc, n);
    let mut large = (case.make)(enc, 2 * n);
    let (mut a, mut b) = (Duration::MAX, Duration::MAX);
    for _ in 0..REPS {
        a = a.min(best_of(&mut small, 1));
        b = b.min(best_of(&mut large, 1));
    }
    (b.as_secs_f64() / a.as_secs_f64().max(1e-9), a, b)
}

fn calibrate(enc: &HarmonyEncoding, case: &Case) -> usize {
    let mut n = case.test_n;
    for _ in 0..MAX_DOUBLINGS {
        if best_of(&mut (case.make)(enc, n), 2) >= CALIBRATED {
            break;
        }
        n *= 2;
    }
    n
}

fn check(prefix: &str) {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let enc = cases::encoding();
    let mut failures = Vec::new();
    for case in cases::all().iter().filter(|c| c.name.starts_with(prefix)) {
        if let Some(why) = case.known {
            println!("{:<48} skipped (known: {why})", case.name);
            continue;
        }
        let n = calibrate(&enc, case);
        let mut worst = 0.0;
        let mut passed = false;
        for attempt in 1..=ATTEMPTS {
            let (r, a, b) = ratio(&enc, case, n);
            println!("{:<48} n={n:<7} {:>9.2?} {:>9.2?} ratio {r:.2} (attempt {attempt})", case.name, a, b);
            if r <= MAX_RATIO {
                passed = true;
                break;
            }
            worst = r;
        }
        if !passed {
            failures.push(format!("{} (ratio {worst:.2} at n={n})", case.name));
        }
    }
    assert!(failures.is_empty(), "super-linear: {}", failures.join(", "));
}

#[test]
fn render_scales_linearly() {
    check("render/");
}

#[test]
fn parse_scales_linearly() {
    check("parse/");
}

#[test]
fn interop_scales_linearly() {
    check("interop/");
}

#[test]
fn json_decode_and_encode_scale_linearly() {
    check("json/");
    check("decode/");
    check("tokenizer/");
}

#[test]
fn every_case_runs() {
    // Each case builds and runs at a tiny size (outputs are checked by the
    // other suites; here they only must not fail).
    let enc = cases::encoding();
    for case in cases::all() {
        (case.make)(&enc, 3)();
    }
}
