//! Every public entry point a request reaches costs linear (or n log n)
//! time: each case of `benches/scaling/cases` is measured at four sizes
//! `n, 2n, 4n, 8n` in one run and the growth exponent `k` of `cost ~ n^k`
//! is fitted over them (least squares on the logarithms). A linear cost
//! gives `k` near 1, n log n a little more, a quadratic one 2; the bound is
//! [`MAX_EXPONENT`] (1.35: at most 17x over the three doublings, where a
//! quadratic grows 64x; the cases measure at most 1.1 on an idle machine).
//! A cost `a n + b n^2` fails it once the quadratic part is about 15% of
//! the cost at the smallest size.
//!
//! The test must hold on a machine busy with other work, so nothing here
//! reads a wall clock:
//! - the cost is the process's CPU time (`CLOCK_PROCESS_CPUTIME_ID`), which
//!   does not grow while the process waits for a core; the batch cases fan
//!   out to threads, whose time it includes, and the tests of this binary
//!   take turns (`ONE_AT_A_TIME`), so the process's time is the case's;
//! - each size is the median of [`REPS`] runs, the sizes interleaved;
//! - the fit uses four sizes, so one disturbed size moves `k` little;
//! - a case that fails is measured again, up to [`ATTEMPTS`] times.
//!
//! `deliberate_quadratics_fail` checks the bound still catches a quadratic
//! cost, one with a large linear part included.
//!
//! `cargo test --test scaling -- --nocapture` prints the exponents. Cases
//! known to be super-linear elsewhere (`Case::known`) are only benched.

use std::hint::black_box;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

#[path = "../benches/scaling/cases/mod.rs"]
mod cases;

use cases::Op;

/// The tests of this binary take turns: the cost measured is the whole
/// process's CPU time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn turn() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

const MAX_EXPONENT: f64 = 1.35;
const ATTEMPTS: usize = 3;
const REPS: usize = 5;
/// The sizes measured: `n` times each.
const SCALES: [usize; 4] = [1, 2, 4, 8];
/// One run at `n` should cost at least this much CPU time before it is measured.
const CALIBRATED: Duration = Duration::from_millis(2);
const MAX_DOUBLINGS: usize = 8;

/// CPU time used by this process so far (all its threads).
#[cfg(unix)]
fn cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return process_start().elapsed();
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Elsewhere a monotonic clock (the test is then as sensitive to load as any
/// wall-clock measurement).
#[cfg(not(unix))]
fn cpu_time() -> Duration {
    process_start().elapsed()
}

fn process_start() -> Instant {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *START.get_or_init(Instant::now)
}

fn cost(op: &mut Op) -> Duration {
    let t = cpu_time();
    op();
    cpu_time().saturating_sub(t)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// The least-squares slope of `log cost` against `log size`.
fn exponent(sizes: &[usize], costs: &[Duration]) -> f64 {
    let points: Vec<(f64, f64)> =
        sizes.iter().zip(costs).map(|(&n, c)| ((n as f64).ln(), c.as_secs_f64().max(1e-9).ln())).collect();
    let k = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / k;
    let my = points.iter().map(|p| p.1).sum::<f64>() / k;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    sxy / sxx
}

/// One measurement: the median cost at each size, the sizes interleaved,
/// and the fitted exponent.
fn measure(make: &mut dyn FnMut(usize) -> Op, n: usize) -> (f64, Vec<Duration>) {
    let sizes: Vec<usize> = SCALES.iter().map(|s| s * n).collect();
    let mut ops: Vec<Op> = sizes.iter().map(|&m| make(m)).collect();
    let mut runs: Vec<Vec<Duration>> = vec![Vec::with_capacity(REPS); ops.len()];
    for _ in 0..REPS {
        for (op, r) in ops.iter_mut().zip(&mut runs) {
            r.push(cost(op));
        }
    }
    let costs: Vec<Duration> = runs.into_iter().map(median).collect();
    (exponent(&sizes, &costs), costs)
}

/// The smallest `n` (doubling from `start`) whose run costs [`CALIBRATED`].
fn calibrate(make: &mut dyn FnMut(usize) -> Op, start: usize) -> usize {
    let mut n = start.max(1);
    for _ in 0..MAX_DOUBLINGS {
        let mut op = make(n);
        let once = cost(&mut op).min(cost(&mut op));
        if once >= CALIBRATED {
            break;
        }
        n *= 2;
    }
    n
}

/// Calibrates a workload, then checks its growth.
fn check_growth(name: &str, make: &mut dyn FnMut(usize) -> Op, start: usize) -> Result<f64, String> {
    let n = calibrate(make, start);
    check_growth_at(name, make, n)
}

/// Measures a workload from `n` up to [`ATTEMPTS`] times; `Err` with the
/// smallest exponent when every attempt is above [`MAX_EXPONENT`].
fn check_growth_at(name: &str, make: &mut dyn FnMut(usize) -> Op, n: usize) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for attempt in 1..=ATTEMPTS {
        let (k, costs) = measure(make, n);
        let shown: Vec<String> = costs.iter().map(|c| format!("{c:.2?}")).collect();
        println!("{name:<48} n={n:<7} [{}] exponent {k:.2} (attempt {attempt})", shown.join(" "));
        best = best.min(k);
        if k <= MAX_EXPONENT {
            return Ok(k);
        }
    }
    Err(format!("{name} (exponent {best:.2} at n={n}..{})", n * SCALES[SCALES.len() - 1]))
}

fn check(prefix: &str) {
    let _turn = turn();
    let enc = cases::encoding();
    let mut failures = Vec::new();
    for case in cases::all().iter().filter(|c| c.name.starts_with(prefix)) {
        if let Some(why) = case.known {
            println!("{:<48} skipped (known: {why})", case.name);
            continue;
        }
        let mut make = |m: usize| (case.make)(&enc, m);
        if let Err(e) = check_growth(case.name, &mut make, case.test_n) {
            failures.push(e);
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
fn grammars_scale_linearly() {
    check("grammar/");
}

#[test]
fn json_decode_and_encode_scale_linearly() {
    check("json/");
    check("decode/");
    check("tokenizer/");
}

/// The bound catches a quadratic cost: a pure one, and one whose quadratic
/// part is a fifth of the cost at the smallest size (a linear pass over
/// `1024 n` items beside a triangular loop over `n`, from `n = 512`); a
/// linear cost passes.
#[test]
fn deliberate_quadratics_fail() {
    let _turn = turn();
    let mut pure = |n: usize| -> Op {
        Box::new(move || {
            let mut acc = 0u64;
            for i in 0..n as u64 {
                for j in 0..n as u64 {
                    acc = acc.wrapping_add(black_box(i ^ j));
                }
            }
            black_box(acc);
        })
    };
    let pure = check_growth("self-test/pure_quadratic", &mut pure, 64);
    assert!(pure.is_err(), "a quadratic cost passed: {pure:?}");

    let mut mixed = |n: usize| -> Op {
        let pad: Vec<u64> = (0..(n as u64) * 1024).collect();
        Box::new(move || {
            let mut sum = 0u64;
            for &x in &pad {
                sum = sum.wrapping_add(black_box(x));
            }
            for i in 0..n as u64 {
                for j in 0..i {
                    sum = sum.wrapping_add(black_box(j));
                }
            }
            black_box(sum);
        })
    };
    let mixed = check_growth_at("self-test/linear_plus_quadratic", &mut mixed, 512);
    assert!(mixed.is_err(), "a cost 20% quadratic passed: {mixed:?}");

    let mut linear = |n: usize| -> Op {
        let v: Vec<u64> = (0..n as u64).collect();
        Box::new(move || {
            black_box(v.iter().fold(0u64, |a, &x| a.wrapping_add(black_box(x))));
        })
    };
    let linear = check_growth("self-test/linear", &mut linear, 64);
    assert!(linear.is_ok(), "a linear cost failed: {linear:?}");
}

#[test]
fn every_case_runs() {
    let _turn = turn();
    // Each case builds and runs at a tiny size (outputs are checked by the
    // other suites; here they only must not fail).
    let enc = cases::encoding();
    for case in cases::all() {
        (case.make)(&enc, 3)();
    }
}
