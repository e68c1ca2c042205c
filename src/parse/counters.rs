//! Process-wide repair counters: how many repairs of each kind every lenient
//! parser in the process has made since it started, for servers to export
//! (`harmony serve` serves them at `/metrics`).
//!
//! A counter is bumped only when a repair is made (never per token), with a
//! relaxed atomic add: counting never changes what a parser returns.

use std::sync::atomic::{AtomicU64, Ordering};

use super::events::DiagnosticKind;

static COUNTS: [AtomicU64; DiagnosticKind::ALL.len()] = [const { AtomicU64::new(0) }; DiagnosticKind::ALL.len()];

/// Counts one repair.
pub(crate) fn count(kind: DiagnosticKind) {
    if let Some(counter) = COUNTS.get(kind.index()) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Repairs made by lenient parsers in this process since it started, by
/// kind (every kind listed, zeros included, in [`DiagnosticKind::ALL`]'s order).
pub fn repair_counts() -> Vec<(DiagnosticKind, u64)> {
    DiagnosticKind::ALL.iter().zip(COUNTS.iter()).map(|(&kind, n)| (kind, n.load(Ordering::Relaxed))).collect()
}
