//! A bounded, thread-safe cache of rendered messages.
//!
//! Servers re-render the whole history on every turn, so almost every
//! message of a prompt was rendered before. The cache maps a message (all of
//! it: author, header fields, every content item) and the render options to
//! its tokens. A hit is verified by comparing the stored message with the
//! one being rendered, so a hash collision can never serve the tokens of a
//! different message; a hit therefore gives exactly what rendering would.
//!
//! Memory is bounded: each of the shards keeps two generations; when the
//! current generation exceeds its share of the budget it becomes the old
//! one and the previous old one is dropped. Entries used from the old
//! generation move to the current one.

use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

use rustc_hash::{FxHashMap, FxHasher};

use super::RenderOptions;
use crate::chat::{Content, Message};
use crate::tokenizer::Rank;

const SHARDS: usize = 16;

/// The default budget: 64 MiB of cached messages and tokens.
pub const DEFAULT_CAPACITY_BYTES: usize = 64 << 20;

struct Entry {
    message: Message,
    options: RenderOptions,
    tokens: Arc<[Rank]>,
    bytes: usize,
}

#[derive(Default)]
struct Generation {
    entries: FxHashMap<u64, Entry>,
    bytes: usize,
}

#[derive(Default)]
struct Shard {
    current: Generation,
    old: Generation,
}

/// The cache. One per process, shared by every encoding (see [`RenderCache::global`]).
pub struct RenderCache {
    shards: Vec<RwLock<Shard>>,
    capacity: AtomicUsize,
}

impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderCache").field("capacity_bytes", &self.capacity()).finish()
    }
}

/// The hash of everything that decides a message's rendering.
fn key(message: &Message, options: RenderOptions) -> u64 {
    let mut h = FxHasher::default();
    options.conversation_has_function_tools.hash(&mut h);
    message.author.hash(&mut h);
    message.recipient.hash(&mut h);
    message.channel.hash(&mut h);
    message.content_type.hash(&mut h);
    message.content.len().hash(&mut h);
    for content in &message.content {
        match content {
            Content::Text(t) => t.text.hash(&mut h),
            // Rare (one or two per conversation): hash their JSON form.
            other => serde_json::to_string(other).unwrap_or_default().hash(&mut h),
        }
    }
    h.finish()
}

/// Approximate heap size of an entry.
fn entry_bytes(message: &Message, tokens: usize) -> usize {
    let text: usize = message
        .content
        .iter()
        .map(|c| match c {
            Content::Text(t) => t.text.len(),
            _ => 4096,
        })
        .sum();
    text + tokens * std::mem::size_of::<Rank>() + 128
}

impl RenderCache {
    /// A cache holding about `capacity_bytes` (0 disables it).
    pub fn new(capacity_bytes: usize) -> Self {
        RenderCache {
            shards: (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect(),
            capacity: AtomicUsize::new(capacity_bytes),
        }
    }

    /// The process-wide cache used by [`HarmonyEncoding`](crate::HarmonyEncoding).
    pub fn global() -> &'static RenderCache {
        static CACHE: std::sync::OnceLock<RenderCache> = std::sync::OnceLock::new();
        CACHE.get_or_init(|| RenderCache::new(DEFAULT_CAPACITY_BYTES))
    }

    /// The budget in bytes.
    pub fn capacity(&self) -> usize {
        self.capacity.load(Ordering::Relaxed)
    }

    /// Changes the budget; 0 disables caching. Takes effect as entries are added.
    pub fn set_capacity(&self, capacity_bytes: usize) {
        self.capacity.store(capacity_bytes, Ordering::Relaxed);
        if capacity_bytes == 0 {
            self.clear();
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        for shard in &self.shards {
            if let Ok(mut s) = shard.write() {
                *s = Shard::default();
            }
        }
    }

    /// Approximate bytes held now.
    pub fn size_bytes(&self) -> usize {
        self.shards.iter().filter_map(|s| s.read().ok()).map(|s| s.current.bytes + s.old.bytes).sum()
    }

    fn lock(&self, key: u64) -> &RwLock<Shard> {
        &self.shards[(key >> 60) as usize % SHARDS]
    }

    // A poisoned shard (a panic elsewhere while holding it) is just a miss.
    fn shard(&self, key: u64) -> Option<std::sync::RwLockWriteGuard<'_, Shard>> {
        self.lock(key).write().ok()
    }

    /// The tokens of `message` rendered with `options`, if cached.
    pub(crate) fn get(&self, message: &Message, options: RenderOptions) -> Option<Arc<[Rank]>> {
        if self.capacity() == 0 {
            return None;
        }
        let key = key(message, options);
        let same = |e: &Entry| e.options == options && e.message == *message;
        {
            // The common case, a hit in the current generation, only reads.
            let shard = self.lock(key).read().ok()?;
            if let Some(e) = shard.current.entries.get(&key).filter(|e| same(e)) {
                return Some(e.tokens.clone());
            }
        }
        let mut shard = self.shard(key)?;
        // Promote from the old generation.
        let entry = shard.old.entries.remove(&key)?;
        shard.old.bytes -= entry.bytes;
        if !same(&entry) {
            return None;
        }
        let tokens = entry.tokens.clone();
        let budget = self.capacity() / SHARDS / 2;
        insert(&mut shard, key, entry, budget);
        Some(tokens)
    }

    /// Remembers the tokens of `message` rendered with `options`.
    pub(crate) fn put(&self, message: &Message, options: RenderOptions, tokens: &[Rank]) {
        let capacity = self.capacity();
        if capacity == 0 {
            return;
        }
        let bytes = entry_bytes(message, tokens.len());
        let budget = capacity / SHARDS / 2;
        if bytes > budget {
            return;
        }
        let key = key(message, options);
        let entry = Entry { message: message.clone(), options, tokens: tokens.into(), bytes };
        if let Some(mut shard) = self.shard(key) {
            insert(&mut shard, key, entry, budget);
        }
    }
}

fn insert(shard: &mut Shard, key: u64, entry: Entry, budget: usize) {
    if shard.current.bytes + entry.bytes > budget {
        shard.old = std::mem::take(&mut shard.current);
    }
    shard.current.bytes += entry.bytes;
    if let Some(replaced) = shard.current.entries.insert(key, entry) {
        shard.current.bytes -= replaced.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::Role;

    fn msg(text: &str) -> Message {
        Message::from_role_and_content(Role::User, text)
    }

    #[test]
    fn hits_only_for_the_same_message_and_options() {
        let cache = RenderCache::new(1 << 20);
        let opts = RenderOptions::default();
        cache.put(&msg("a"), opts, &[1, 2, 3]);
        assert_eq!(cache.get(&msg("a"), opts).map(|t| t.to_vec()), Some(vec![1, 2, 3]));
        assert!(cache.get(&msg("b"), opts).is_none());
        assert!(cache.get(&msg("a").with_channel("final"), opts).is_none());
        assert!(cache.get(&msg("a"), RenderOptions { conversation_has_function_tools: true }).is_none());
    }

    #[test]
    fn a_colliding_hash_is_never_served() {
        let cache = RenderCache::new(1 << 20);
        let opts = RenderOptions::default();
        let (a, b) = (msg("a"), msg("b"));
        // Store b's entry under a's key, as a collision would.
        let k = key(&a, opts);
        if let Some(mut shard) = cache.shard(k) {
            let entry = Entry { message: b.clone(), options: opts, tokens: vec![9].into(), bytes: 10 };
            insert(&mut shard, k, entry, usize::MAX);
        }
        assert!(cache.get(&a, opts).is_none());
    }

    #[test]
    fn stays_within_its_budget() {
        let cache = RenderCache::new(64 * 1024);
        let opts = RenderOptions::default();
        for i in 0..10_000 {
            cache.put(&msg(&format!("message number {i} with some text")), opts, &[1; 20]);
        }
        assert!(cache.size_bytes() <= 64 * 1024, "{}", cache.size_bytes());
        cache.set_capacity(0);
        assert_eq!(cache.size_bytes(), 0);
        assert!(cache.get(&msg("message number 9999 with some text"), opts).is_none());
    }
}
