//! Parallel batch rendering and parsing, for training-data pipelines.
//!
//! Work items are spread over `std::thread::available_parallelism()` scoped
//! threads that take the next item from a shared counter, so uneven items
//! balance out. Results come back in input order, one `Result` per item: a
//! bad item does not fail the batch.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::chat::{Conversation, Message, Role};
use crate::encoding::HarmonyEncoding;
use crate::error::Result;
use crate::render::RenderConversationConfig;
pub use crate::render::RenderKind;
use crate::tokenizer::Rank;

/// Runs `f` on every item on all cores; results in input order.
pub fn parallel_map<T, R, F>(items: &[T], f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        done.push((i, f(item)));
                    }
                    done
                })
            })
            .collect();
        // A worker only panics if `f` does; re-raise it on this thread.
        workers.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut out: Vec<(usize, R)> = parts.iter_mut().flat_map(std::mem::take).collect();
    out.sort_unstable_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

impl HarmonyEncoding {
    /// Renders many conversations in parallel on all cores.
    pub fn render_conversations_batch(
        &self,
        conversations: &[Conversation],
        kind: RenderKind,
        config: Option<&RenderConversationConfig>,
    ) -> Vec<Result<Vec<Rank>>> {
        parallel_map(conversations, |convo| self.render_as(convo, kind, config))
    }

    /// Parses many completions in parallel on all cores.
    pub fn parse_batch(
        &self,
        completions: &[Vec<Rank>],
        role: Option<Role>,
        strict: bool,
    ) -> Vec<Result<Vec<Message>>> {
        parallel_map(completions, |tokens| {
            self.parse_messages_from_completion_tokens(tokens.iter().copied(), role, strict)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_covers_every_item() {
        let items: Vec<usize> = (0..1000).collect();
        assert_eq!(parallel_map(&items, |i| i * 2), items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(parallel_map(&Vec::<usize>::new(), |i| *i).is_empty());
    }
}
