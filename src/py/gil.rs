//! Releasing the GIL around core work, and handing it back quickly.
//!
//! A render with the render cache warm is short: it reads the Python
//! messages (GIL held), renders (GIL released), and builds the result list
//! (GIL held). When two threads render at once, each one finishes its
//! GIL-free part while the other holds the GIL, and `PyEval_RestoreThread`
//! puts it to sleep on CPython's condition variable. Waking a sleeping
//! thread costs tens of microseconds on virtual machines (about 30 µs on the
//! 2-vCPU VM of `docs/performance.md`), as long as the GIL-held part itself.
//!
//! So a call that finishes its GIL-free work while another call of this
//! module is in a GIL-held phase waits for that call to release the GIL by
//! spinning briefly, then takes the GIL at once instead of sleeping. The
//! spin is bounded (200 µs by default, `set_gil_spin_us`), only one thread
//! spins at a time, and only while no more calls are active than there are
//! CPUs. This changes timing only: the GIL is always taken through
//! `PyEval_RestoreThread`, so a wrong guess costs at most one bounded spin.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// Calls of this module in a GIL-held phase (at entry, or back from `detach`).
static HOLDING: AtomicUsize = AtomicUsize::new(0);
/// Calls of this module in progress, whatever their phase.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Bumped each time a call releases the GIL.
static RELEASES: AtomicUsize = AtomicUsize::new(0);
/// Whether a thread is spinning now.
static SPINNING: AtomicBool = AtomicBool::new(false);
/// The longest spin, in nanoseconds (0: never spin).
static SPIN_NS: AtomicU64 = AtomicU64::new(200_000);

fn cpus() -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// In a forked child: no call is in progress (the parent's other threads,
/// whose calls these counters may still count, do not exist here).
pub(crate) fn after_fork_in_child() {
    HOLDING.store(0, Ordering::SeqCst);
    ACTIVE.store(0, Ordering::SeqCst);
    SPINNING.store(false, Ordering::SeqCst);
}

/// Sets the longest spin while waiting for the GIL, in microseconds (0
/// turns spinning off).
#[pyfunction]
pub(crate) fn set_gil_spin_us(us: u64) {
    SPIN_NS.store(us.saturating_mul(1_000), Ordering::Relaxed);
}

/// The longest spin while waiting for the GIL, in microseconds.
#[pyfunction]
pub(crate) fn gil_spin_us() -> u64 {
    SPIN_NS.load(Ordering::Relaxed) / 1_000
}

/// One call from Python: create it on entry (the GIL is held), release the
/// GIL through [`Call::detach`], and drop it on return.
pub(crate) struct Call(());

impl Call {
    pub(crate) fn enter() -> Call {
        ACTIVE.fetch_add(1, Ordering::SeqCst);
        HOLDING.fetch_add(1, Ordering::SeqCst);
        Call(())
    }

    /// Runs `f` with the GIL released.
    pub(crate) fn detach<T, F>(&self, py: Python<'_>, f: F) -> T
    where
        T: Send,
        F: Send + FnOnce() -> T,
    {
        py.detach(|| {
            let _released = Released::new();
            let out = f();
            wait_for_release();
            out
        })
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        HOLDING.fetch_sub(1, Ordering::SeqCst);
        ACTIVE.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The GIL-free phase of a call (undone on drop, even when unwinding).
struct Released;

impl Released {
    fn new() -> Released {
        HOLDING.fetch_sub(1, Ordering::SeqCst);
        RELEASES.fetch_add(1, Ordering::SeqCst);
        Released
    }
}

impl Drop for Released {
    fn drop(&mut self) {
        HOLDING.fetch_add(1, Ordering::SeqCst);
    }
}

/// Spins until another call releases the GIL, if one holds it now and
/// spinning is worth it; see the module documentation.
fn wait_for_release() {
    let max = SPIN_NS.load(Ordering::Relaxed);
    if max == 0 || HOLDING.load(Ordering::SeqCst) == 0 || ACTIVE.load(Ordering::SeqCst) > cpus() {
        return;
    }
    let seen = RELEASES.load(Ordering::SeqCst);
    if SPINNING.swap(true, Ordering::AcqRel) {
        return;
    }
    let start = Instant::now();
    let max = Duration::from_nanos(max);
    'spin: loop {
        for _ in 0..64 {
            std::hint::spin_loop();
            if RELEASES.load(Ordering::SeqCst) != seen {
                break 'spin;
            }
        }
        if start.elapsed() > max {
            break;
        }
    }
    SPINNING.store(false, Ordering::Release);
}
