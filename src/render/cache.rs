//! A bounded, thread-safe cache of rendered messages.
//!
//! Servers re-render the whole history on every turn, so almost every
//! message of a prompt was rendered before. The cache maps a message (all of
//! it: author, header fields, every content item) and the render options to
//! its tokens.
//!
//! An entry does not hold a clone of the message: it holds the message's
//! *key*, a compact, injective byte form of everything that decides its
//! rendering (see [`Key`]): the options, the role, each header string and
//! each text item length-prefixed and raw, and system or developer content
//! as its JSON. A hit requires the stored key to equal the one being looked
//! up byte for byte (not just its hash), so a hash collision can never serve
//! the tokens of a different message; a hit therefore gives exactly what
//! rendering would. Byte equality is stricter than `Message`'s `==` (JSON
//! objects compare equal in any key order, but render in their order), so a
//! hit is never given to a message that would render differently. A deep
//! clone of a developer message with a large schema costs several times its
//! JSON (a `Value` node and an allocation per string); the key costs its
//! JSON.
//!
//! Memory is bounded: each of the shards keeps two generations; when the
//! current generation would exceed its share of the budget it becomes the
//! old one and the previous old one is dropped. Entries used from the old
//! generation move to the current one. What an entry costs is counted as
//! the allocator sees it (see [`entry_bytes`]): its key and token
//! allocations with malloc's rounding and header, and its slot in the hash
//! table, whose buckets are counted as allocated (a power of two, at least
//! 8/7 of the entries).
//!
//! Fork safety: a process that forks while other threads render may fork
//! with a shard's lock held by a thread the child does not have. The child
//! must not touch those locks, so [`RenderCache::after_fork`] (which the
//! Python package runs in every forked child, `os.register_at_fork`) moves
//! the cache to a fresh set of shards; the parent's set is left as it is
//! (its pages are shared with the parent until either writes them).

use std::cell::Cell;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use rustc_hash::FxHashMap;

use super::RenderOptions;
use crate::chat::{Content, Message};
use crate::tokenizer::Rank;

const SHARDS: usize = 16;

/// Shard sets one cache can move through: a fresh one per
/// [`RenderCache::after_fork`], so a chain of this many nested forks. A
/// process deeper than that has no cache (every lookup misses).
const FORK_DEPTH: usize = 16;

type Shards = Box<[RwLock<Shard>]>;

fn new_shards() -> Shards {
    (0..SHARDS).map(|_| RwLock::new(Shard::default())).collect()
}

/// The default budget: 64 MiB of cached messages and tokens.
pub const DEFAULT_CAPACITY_BYTES: usize = 64 << 20;

struct Entry {
    key: Box<[u8]>,
    tokens: Arc<[Rank]>,
    bytes: usize,
}

#[derive(Default)]
struct Generation {
    entries: FxHashMap<u64, Entry>,
    /// The entries' own allocations (keys, tokens); the table is counted apart.
    bytes: usize,
}

impl Generation {
    /// Everything the generation holds: its entries and its hash table.
    fn total(&self) -> usize {
        self.bytes + table_bytes(self.entries.capacity())
    }
}

#[derive(Default)]
struct Shard {
    current: Generation,
    old: Generation,
}

/// The cache. One per process, shared by every encoding (see [`RenderCache::global`]).
pub struct RenderCache {
    /// The shards of a process that has not forked (the hot path).
    shards: Shards,
    /// The shards of each fork depth after the first, created on first use.
    forked: Box<[OnceLock<Shards>]>,
    /// The set this process uses: 0 (`shards`), plus one per `after_fork`.
    set: AtomicUsize,
    capacity: AtomicUsize,
}

impl std::fmt::Debug for RenderCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderCache").field("capacity_bytes", &self.capacity()).finish()
    }
}

/// Bytes malloc takes for an allocation of `n` bytes: glibc's chunks carry
/// an 8-byte header, are 16-byte aligned, and are at least 32 bytes.
fn alloc_bytes(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    ((n + 8 + 15) & !15).max(32)
}

/// The allocation of a hashbrown table that can hold `capacity` entries
/// without growing: a power of two of buckets (`capacity` is 7/8 of them),
/// each a slot and a control byte, plus a group of trailing control bytes.
fn table_bytes(capacity: usize) -> usize {
    if capacity == 0 {
        return 0;
    }
    let buckets = if capacity < 8 { capacity + 1 } else { (capacity * 8 / 7).next_power_of_two() };
    alloc_bytes(buckets * (std::mem::size_of::<(u64, Entry)>() + 1) + 16)
}

/// What an entry's own allocations cost: the key, and the tokens behind
/// their `Arc` (two counters before the slice). Its table slot is counted
/// by [`table_bytes`].
fn entry_bytes(key_len: usize, tokens: usize) -> usize {
    alloc_bytes(key_len) + alloc_bytes(2 * std::mem::size_of::<usize>() + tokens * std::mem::size_of::<Rank>())
}

/// The key of a message under some options: everything that decides its
/// rendering as bytes, and their hash.
///
/// The form is injective: the options and the role are one byte each; each
/// optional header string (name, recipient, channel, content type) is a
/// presence byte then, if present, its length (LEB128) and its bytes; then
/// the number of content items and, for each, a tag byte and its length and
/// bytes: the raw text of a text item, the JSON of system or developer
/// content. The JSON is injective too: `serde_json` writes every field it
/// reads (absent only for `None` or an empty list, written for anything
/// else), escapes strings unambiguously and writes numbers so they read back
/// as they were (`1` and `1.0` differ), objects in their order.
///
/// The bytes live in a per-thread buffer taken for the lookup and given back
/// when the key is dropped, so a hit allocates nothing.
pub(crate) struct Key {
    hash: u64,
    bytes: Vec<u8>,
}

thread_local! {
    static KEY_BUFFER: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// Which messages a render puts through the cache, passed down with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CachePolicy {
    /// Every message (what every public render does).
    All,
    /// Only system and developer messages. Dataset tokenization renders
    /// each conversation once: its other messages never come again, and
    /// caching them would only churn the cache (and contend for its shards
    /// across worker threads), while the setup messages repeat from row to row.
    SetupOnly,
}

impl CachePolicy {
    /// Whether a render under this policy skips the cache for `message`.
    pub(crate) fn skips(self, message: &Message) -> bool {
        self == CachePolicy::SetupOnly
            && !matches!(message.author.role, crate::chat::Role::System | crate::chat::Role::Developer)
    }
}

/// A buffer bigger than this is not kept for the next key.
const KEPT_BUFFER_BYTES: usize = 64 * 1024;

impl Drop for Key {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        if bytes.capacity() <= KEPT_BUFFER_BYTES {
            bytes.clear();
            // Fails only while the thread's locals are being destroyed; then the buffer is just freed.
            let _ = KEY_BUFFER.try_with(|b| b.set(bytes));
        }
    }
}

fn push_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    push_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn push_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            push_str(out, s);
        }
    }
}

/// Appends `value`'s JSON, length-prefixed (a fixed 8-byte length, written
/// once the JSON is). `None` if it cannot be serialized (never for the
/// content types, whose maps have string keys and whose numbers are finite).
fn push_json<T: serde::Serialize>(out: &mut Vec<u8>, value: &T) -> Option<()> {
    let at = out.len();
    out.extend_from_slice(&[0; 8]);
    serde_json::to_writer(&mut *out, value).ok()?;
    let len = (out.len() - at - 8) as u64;
    out.get_mut(at..at + 8)?.copy_from_slice(&len.to_le_bytes());
    Some(())
}

/// The process's seed for key hashes.
fn seed() -> &'static foldhash::fast::RandomState {
    static SEED: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    SEED.get_or_init(foldhash::fast::RandomState::default)
}

impl Key {
    /// The key of `message` rendered with `options`; `None` if some content
    /// cannot be written as JSON (then the message is not cached).
    pub(crate) fn new(message: &Message, options: RenderOptions) -> Option<Key> {
        let mut key = Key { hash: 0, bytes: KEY_BUFFER.try_with(Cell::take).unwrap_or_default() };
        let out = &mut key.bytes;
        out.push(u8::from(options.conversation_has_function_tools));
        out.push(message.author.role as u8);
        push_opt(out, message.author.name.as_deref());
        push_opt(out, message.recipient.as_deref());
        push_opt(out, message.channel.as_deref());
        push_opt(out, message.content_type.as_deref());
        push_len(out, message.content.len());
        for content in &message.content {
            match content {
                Content::Text(t) => {
                    out.push(0);
                    push_str(out, &t.text);
                }
                Content::SystemContent(c) => {
                    out.push(1);
                    push_json(out, c)?;
                }
                Content::DeveloperContent(c) => {
                    out.push(2);
                    push_json(out, c)?;
                }
            }
        }
        // Seeded per process: the bytes are a client's text, and an unseeded
        // hash lets crafted messages pile onto one slot.
        key.hash = seed().hash_one(key.bytes.as_slice());
        Some(key)
    }

    /// The key's bytes.
    #[cfg(test)]
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl RenderCache {
    /// A cache holding about `capacity_bytes` (0 disables it).
    pub fn new(capacity_bytes: usize) -> Self {
        RenderCache {
            shards: new_shards(),
            forked: (1..FORK_DEPTH).map(|_| OnceLock::new()).collect(),
            set: AtomicUsize::new(0),
            capacity: AtomicUsize::new(capacity_bytes),
        }
    }

    /// Starts this cache afresh in a forked child, where another thread of
    /// the parent may have held one of its locks: the child then uses a new,
    /// empty set of shards and never touches the parent's. Call it in the
    /// child right after `fork`, before any other thread starts (the Python
    /// package does, for the global cache, with `os.register_at_fork`).
    pub fn after_fork(&self) {
        let next = self.set.load(Ordering::Relaxed).saturating_add(1).min(FORK_DEPTH);
        self.set.store(next, Ordering::Relaxed);
    }

    /// The shards of this process (none past [`FORK_DEPTH`] forks).
    #[inline]
    fn shards(&self) -> &[RwLock<Shard>] {
        match self.set.load(Ordering::Relaxed) {
            0 => &self.shards,
            set => self.forked_shards(set),
        }
    }

    #[cold]
    fn forked_shards(&self, set: usize) -> &[RwLock<Shard>] {
        match self.forked.get(set - 1) {
            Some(shards) => shards.get_or_init(new_shards),
            None => &[],
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

    /// Changes the budget; 0 disables caching. A smaller budget empties the
    /// cache; a larger one takes effect as entries are added.
    pub fn set_capacity(&self, capacity_bytes: usize) {
        let before = self.capacity.swap(capacity_bytes, Ordering::Relaxed);
        if capacity_bytes < before {
            self.clear();
        }
    }

    /// Drops every entry.
    pub fn clear(&self) {
        for shard in self.shards() {
            if let Ok(mut s) = shard.write() {
                *s = Shard::default();
            }
        }
    }

    /// Bytes held now, as the allocator counts them: keys, tokens and hash
    /// tables.
    pub fn size_bytes(&self) -> usize {
        self.shards().iter().filter_map(|s| s.read().ok()).map(|s| s.current.total() + s.old.total()).sum()
    }

    /// The number of cached messages.
    pub fn len(&self) -> usize {
        self.shards().iter().filter_map(|s| s.read().ok()).map(|s| s.current.entries.len() + s.old.entries.len()).sum()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self, hash: u64) -> Option<&RwLock<Shard>> {
        self.shards().get((hash >> 60) as usize % SHARDS)
    }

    // A poisoned shard (a panic elsewhere while holding it) is just a miss.
    fn shard(&self, hash: u64) -> Option<std::sync::RwLockWriteGuard<'_, Shard>> {
        self.lock(hash)?.write().ok()
    }

    /// The key to look `message` up with; `None` when caching is off (or the
    /// message cannot be keyed).
    pub(crate) fn key(&self, message: &Message, options: RenderOptions) -> Option<Key> {
        if self.capacity() == 0 {
            return None;
        }
        Key::new(message, options)
    }

    /// The tokens of the message `key` was made from, if cached.
    pub(crate) fn get(&self, key: &Key) -> Option<Arc<[Rank]>> {
        let same = |e: &Entry| *e.key == *key.bytes;
        {
            // The common case, a hit in the current generation, only reads.
            let shard = self.lock(key.hash)?.read().ok()?;
            if let Some(e) = shard.current.entries.get(&key.hash).filter(|e| same(e)) {
                return Some(e.tokens.clone());
            }
        }
        let mut shard = self.shard(key.hash)?;
        // Promote from the old generation.
        let entry = shard.old.entries.remove(&key.hash)?;
        shard.old.bytes -= entry.bytes;
        if !same(&entry) {
            return None;
        }
        let tokens = entry.tokens.clone();
        let budget = self.capacity() / SHARDS / 2;
        insert(&mut shard, key.hash, entry, budget);
        Some(tokens)
    }

    /// Remembers `tokens` as the rendering of the message `key` was made from.
    pub(crate) fn put(&self, key: &Key, tokens: &[Rank]) {
        let capacity = self.capacity();
        if capacity == 0 {
            return;
        }
        let bytes = entry_bytes(key.bytes.len(), tokens.len());
        let budget = capacity / SHARDS / 2;
        if bytes > budget {
            return;
        }
        let entry = Entry { key: key.bytes.as_slice().into(), tokens: tokens.into(), bytes };
        if let Some(mut shard) = self.shard(key.hash) {
            insert(&mut shard, key.hash, entry, budget);
        }
    }
}

/// Adds an entry to the current generation, first retiring it (and dropping
/// the old one) if the entry and the table it may grow to would not fit in
/// `budget`.
fn insert(shard: &mut Shard, hash: u64, entry: Entry, budget: usize) {
    let current = &shard.current;
    let capacity = current.entries.capacity();
    // Inserting into a full table grows it to twice the buckets.
    let table = table_bytes(if current.entries.len() < capacity { capacity } else { (capacity * 2).max(3) });
    if current.bytes + entry.bytes + table > budget {
        // The next generation will hold about as many entries: size its table once.
        let entries = FxHashMap::with_capacity_and_hasher(current.entries.len(), Default::default());
        shard.old = std::mem::replace(&mut shard.current, Generation { entries, bytes: 0 });
    }
    shard.current.bytes += entry.bytes;
    if let Some(replaced) = shard.current.entries.insert(hash, entry) {
        shard.current.bytes -= replaced.bytes;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{DeveloperContent, Role, ToolDescription};

    fn msg(text: &str) -> Message {
        Message::from_role_and_content(Role::User, text)
    }

    fn key(message: &Message, options: RenderOptions) -> Key {
        Key::new(message, options).expect("plain messages have a key")
    }

    fn put(cache: &RenderCache, message: &Message, options: RenderOptions, tokens: &[Rank]) {
        cache.put(&key(message, options), tokens);
    }

    fn get(cache: &RenderCache, message: &Message, options: RenderOptions) -> Option<Vec<Rank>> {
        cache.get(&key(message, options)).map(|t| t.to_vec())
    }

    fn developer(schema: serde_json::Value) -> Message {
        let tool = ToolDescription::new("f", "a tool", Some(schema));
        let content = DeveloperContent::default().with_function_tools(vec![tool]);
        Message::from_role_and_content(Role::Developer, content)
    }

    #[test]
    fn after_fork_the_cache_starts_afresh_away_from_held_locks() {
        let cache = RenderCache::new(1 << 20);
        let opts = RenderOptions::default();
        put(&cache, &msg("a"), opts, &[1, 2]);
        // What a forked child sees: every shard locked by a thread it does not have.
        for shard in cache.shards() {
            std::mem::forget(shard.write());
        }
        cache.after_fork();
        assert!(cache.is_empty());
        assert_eq!(get(&cache, &msg("a"), opts), None);
        put(&cache, &msg("a"), opts, &[3]);
        assert_eq!(get(&cache, &msg("a"), opts), Some(vec![3]));
        cache.clear();
        // Past the depth it keeps no entries, and never blocks or panics.
        for _ in 0..FORK_DEPTH + 2 {
            cache.after_fork();
        }
        put(&cache, &msg("b"), opts, &[4]);
        assert_eq!(get(&cache, &msg("b"), opts), None);
        assert_eq!((cache.len(), cache.size_bytes()), (0, 0));
    }

    #[test]
    fn hits_only_for_the_same_message_and_options() {
        let cache = RenderCache::new(1 << 20);
        let opts = RenderOptions::default();
        put(&cache, &msg("a"), opts, &[1, 2, 3]);
        assert_eq!(get(&cache, &msg("a"), opts), Some(vec![1, 2, 3]));
        assert!(get(&cache, &msg("b"), opts).is_none());
        assert!(get(&cache, &msg("a").with_channel("final"), opts).is_none());
        assert!(get(&cache, &msg("a"), RenderOptions { conversation_has_function_tools: true }).is_none());
        let two = Message::from_role_and_contents(Role::User, ["a", ""]);
        assert!(get(&cache, &two, opts).is_none());
    }

    #[test]
    fn keys_tell_apart_what_renders_apart() {
        let opts = RenderOptions::default();
        let distinct = [
            msg("ab"),
            Message::from_role_and_contents(Role::User, ["a", "b"]),
            Message::from_role_and_contents(Role::User, ["ab", ""]),
            Message::from_role_and_content(Role::Assistant, "ab"),
            msg("ab").with_channel(""),
            msg("ab").with_recipient(""),
            msg("ab").with_content_type(""),
            msg("ab").with_channel("x").with_recipient("y"),
            msg("ab").with_channel("xy"),
            Message::from_author_and_content(crate::chat::Author::new(Role::User, ""), "ab"),
            developer(serde_json::json!({"a": 1})),
            developer(serde_json::json!({"a": 1.0})),
            developer(serde_json::json!({"a": "1"})),
        ];
        for (i, a) in distinct.iter().enumerate() {
            for (j, b) in distinct.iter().enumerate() {
                assert_eq!(i == j, key(a, opts).bytes() == key(b, opts).bytes(), "{a:?} / {b:?}");
            }
        }
    }

    #[test]
    fn json_key_order_is_part_of_the_key() {
        // `Message`'s `==` compares JSON objects in any order, but the
        // schema renders in its order: the cache must tell them apart.
        let cache = RenderCache::new(1 << 20);
        let opts = RenderOptions::default();
        let ab = developer(serde_json::from_str(r#"{"properties": {"a": {}, "b": {}}}"#).unwrap_or_default());
        let ba = developer(serde_json::from_str(r#"{"properties": {"b": {}, "a": {}}}"#).unwrap_or_default());
        assert_eq!(ab, ba);
        put(&cache, &ab, opts, &[1]);
        assert_eq!(get(&cache, &ab, opts), Some(vec![1]));
        assert!(get(&cache, &ba, opts).is_none());
    }

    #[test]
    fn a_colliding_hash_is_never_served() {
        let cache = RenderCache::new(1 << 20);
        let opts = RenderOptions::default();
        let (a, b) = (key(&msg("a"), opts), key(&msg("b"), opts));
        // Store b's entry under a's hash, as a collision would.
        if let Some(mut shard) = cache.shard(a.hash) {
            let entry = Entry { key: b.bytes().into(), tokens: vec![9].into(), bytes: 10 };
            insert(&mut shard, a.hash, entry, usize::MAX);
        }
        assert!(cache.get(&a).is_none());
    }

    #[test]
    fn stays_within_its_budget() {
        let cache = RenderCache::new(64 * 1024);
        let opts = RenderOptions::default();
        for i in 0..10_000 {
            put(&cache, &msg(&format!("message number {i} with some text")), opts, &[1; 20]);
        }
        assert!(cache.size_bytes() <= 64 * 1024, "{}", cache.size_bytes());
        cache.set_capacity(0);
        assert_eq!(cache.size_bytes(), 0);
        assert!(get(&cache, &msg("message number 9999 with some text"), opts).is_none());
    }

    /// The accounting is at least what the entries hold: for each, its key
    /// (no bigger than the message's JSON), its tokens, and a hash-table
    /// slot; and not much more.
    #[test]
    fn counts_at_least_what_the_entries_hold() {
        let opts = RenderOptions::default();
        let schema = |i: usize| {
            let values: Vec<String> = (0..200).map(|k| format!("value_{i}_{k}")).collect();
            serde_json::json!({"type": "object", "properties": {"unit": {"type": "string", "enum": values}}})
        };
        let small: Vec<(Message, usize)> = (0..1000).map(|i| (msg(&format!("message {i}")), 12)).collect();
        let large: Vec<(Message, usize)> = (0..50).map(|i| (developer(schema(i)), 1500)).collect();
        for entries in [small, large] {
            let cache = RenderCache::new(1 << 30);
            let mut held = 0;
            for (m, n) in &entries {
                let k = key(m, opts);
                cache.put(&k, &vec![7; *n]);
                // The key is compact: no bigger than the message's JSON.
                let json = serde_json::to_vec(m).map(|j| j.len()).unwrap_or_default();
                assert!(k.bytes().len() <= json, "{} > {json}", k.bytes().len());
                held += k.bytes().len() + n * std::mem::size_of::<Rank>() + std::mem::size_of::<(u64, Entry)>();
            }
            assert_eq!(cache.len(), entries.len());
            let reported = cache.size_bytes();
            assert!(reported >= held, "reported {reported} < held {held}");
            assert!(reported <= 2 * held + 64 * 1024, "reported {reported} > 2 x held {held}");
        }
    }

    #[test]
    fn allocation_sizes_are_malloc_chunks() {
        assert_eq!(alloc_bytes(0), 0);
        assert_eq!(alloc_bytes(1), 32);
        assert_eq!(alloc_bytes(24), 32);
        assert_eq!(alloc_bytes(25), 48);
        assert!(table_bytes(7) >= 8 * std::mem::size_of::<(u64, Entry)>());
        assert!(table_bytes(1000) >= 2048 * std::mem::size_of::<(u64, Entry)>());
    }
}
