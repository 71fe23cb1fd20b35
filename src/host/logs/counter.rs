//! Counting keys (IPs, paths, messages) exactly, in bounded memory.
//!
//! Keys are counted by a 64-bit hash in an open-addressing table; each
//! key's text is stored once, in an
//! arena, the first time it is seen. Up to `cap` distinct keys the counts
//! are exact (what `sort | uniq -c` would say); past it, new keys are no
//! longer admitted and the result says `approximate`, so memory never grows
//! with the size of the log, only with the variety of its keys.

/// Fixed seeds: the same key hashes the same in every thread, so the
/// per-thread counters merge.
pub fn hash(bytes: &[u8]) -> u64 {
    static STATE: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    let h = STATE.get_or_init(|| ahash::RandomState::with_seeds(0x5eed, 0xfeed, 0xbeef, 0xcafe)).hash_one(bytes);
    // 0 marks an empty slot.
    h.max(1)
}

/// Hot part of a slot: 16 bytes, four to a cache line, so a lookup touches
/// one line (a general-purpose map touches two: control bytes, then slot).
#[derive(Clone, Copy, Default)]
struct Hot {
    key: u64,
    count: u64,
}

pub struct Counter {
    hot: Vec<Hot>,
    /// Where each slot's key text is in `arena` (offset, len); only read
    /// when the top keys are listed.
    text: Vec<(u32, u32)>,
    len: usize,
    arena: Vec<u8>,
    cap: usize,
    /// Occurrences of keys that arrived after the cap was reached.
    pub dropped: u64,
    /// See [`Counter::add_pipelined`]: (hash, key length, key bytes).
    pending: Option<(u64, usize, Box<[u8; MAX_KEY]>)>,
    spare: Option<Box<[u8; MAX_KEY]>>,
}

/// A zeroed table; a large one is backed by huge pages where the kernel
/// allows it, because lookups land on random pages and TLB misses, not
/// cache misses, become the cost.
fn huge_table(size: usize) -> Vec<Hot> {
    let v = vec![Hot::default(); size];
    let bytes = size * std::mem::size_of::<Hot>();
    #[cfg(target_os = "linux")]
    if bytes >= 4 << 20 {
        const HUGE: usize = 2 << 20;
        let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
        let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
        if end > start {
            // SAFETY: the range lies inside the allocation; madvise only
            // changes how it is backed, not its contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    v
}

/// Longest key text kept; longer keys are counted by their first bytes.
const MAX_KEY: usize = 512;

impl Counter {
    pub fn new(cap: usize) -> Self {
        Counter {
            hot: vec![Hot::default(); 1024],
            text: vec![(0, 0); 1024],
            len: 0,
            arena: Vec::new(),
            cap,
            dropped: 0,
            pending: None,
            spare: Some(Box::new([0; MAX_KEY])),
        }
    }

    #[inline]
    pub fn add(&mut self, key: &[u8]) {
        self.add_n(key, 1);
    }

    /// Like [`Counter::add`], for the key with the most distinct values
    /// (paths): the slot is prefetched now and counted on the next call,
    /// so the cache miss overlaps the parsing of the next line. Call
    /// [`Counter::flush`] after the last one.
    #[inline]
    pub fn add_pipelined(&mut self, key: &[u8]) {
        let key = &key[..key.len().min(MAX_KEY)];
        let h = hash(key);
        #[cfg(target_arch = "x86_64")]
        {
            let slot = &self.hot[h as usize & (self.hot.len() - 1)];
            // SAFETY: a prefetch is only a hint; the pointer is in bounds.
            unsafe { std::arch::x86_64::_mm_prefetch(slot as *const Hot as *const i8, std::arch::x86_64::_MM_HINT_T0) };
        }
        let mut buf = self.spare.take().unwrap_or_else(|| Box::new([0; MAX_KEY]));
        buf[..key.len()].copy_from_slice(key);
        if let Some((ph, plen, pbuf)) = self.pending.replace((h, key.len(), buf)) {
            self.add_hashed(ph, &pbuf[..plen], 1);
            self.spare = Some(pbuf);
        }
    }

    /// Count what [`Counter::add_pipelined`] still holds.
    pub fn flush(&mut self) {
        if let Some((h, len, buf)) = self.pending.take() {
            self.add_hashed(h, &buf[..len], 1);
            self.spare = Some(buf);
        }
    }

    #[inline]
    pub fn add_n(&mut self, key: &[u8], n: u64) {
        let key = &key[..key.len().min(MAX_KEY)];
        self.add_hashed(hash(key), key, n);
    }

    #[inline]
    fn add_hashed(&mut self, h: u64, key: &[u8], n: u64) {
        let mask = self.hot.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let slot = &mut self.hot[i];
            if slot.key == h {
                slot.count += n;
                return;
            }
            if slot.key == 0 {
                break;
            }
            i = (i + 1) & mask;
        }
        if self.len >= self.cap || self.arena.len() + key.len() > u32::MAX as usize {
            self.dropped += n;
            return;
        }
        self.hot[i] = Hot { key: h, count: n };
        self.text[i] = (self.arena.len() as u32, key.len() as u32);
        self.arena.extend_from_slice(key);
        self.len += 1;
        // Keep the table at most half full: probes stay short.
        if self.len * 2 > self.hot.len() {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let size = self.hot.len() * 2;
        let old_hot = std::mem::replace(&mut self.hot, huge_table(size));
        let old_text = std::mem::replace(&mut self.text, vec![(0, 0); size]);
        let mask = size - 1;
        for (h, t) in old_hot.into_iter().zip(old_text) {
            if h.key == 0 {
                continue;
            }
            let mut i = h.key as usize & mask;
            while self.hot[i].key != 0 {
                i = (i + 1) & mask;
            }
            self.hot[i] = h;
            self.text[i] = t;
        }
    }

    fn entries(&self) -> impl Iterator<Item = (&[u8], u64)> {
        debug_assert!(self.pending.is_none(), "flush before reading");
        self.hot
            .iter()
            .zip(&self.text)
            .filter(|(h, _)| h.key != 0)
            .map(|(h, &(off, len))| (&self.arena[off as usize..(off + len) as usize], h.count))
    }

    pub fn merge(&mut self, mut other: Counter) {
        self.flush();
        other.flush();
        self.dropped += other.dropped;
        for (key, count) in other.entries() {
            self.add_n(key, count);
        }
    }

    pub fn approximate(&self) -> bool {
        self.dropped > 0
    }

    /// The `n` most frequent keys, ties broken by the key's text.
    pub fn top(&mut self, n: usize) -> Vec<(String, u64)> {
        self.flush();
        let mut all: Vec<(&[u8], u64)> = self.entries().collect();
        let by = |a: &(&[u8], u64), b: &(&[u8], u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if all.len() > n {
            all.select_nth_unstable_by(n, by);
            all.truncate(n);
        }
        all.sort_by(by);
        all.into_iter().map(|(k, c)| (String::from_utf8_lossy(k).into_owned(), c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_exactly_then_degrades() {
        let mut c = Counter::new(3);
        for k in ["a", "b", "a", "c", "a", "b", "d", "d"] {
            c.add_pipelined(k.as_bytes());
        }
        c.flush();
        assert_eq!(c.top(2), vec![("a".to_string(), 3), ("b".to_string(), 2)]);
        assert_eq!(c.dropped, 2, "d arrived after the cap");
        assert!(c.approximate());
        let mut other = Counter::new(10);
        other.add(b"b");
        other.add(b"b");
        c.merge(other);
        assert_eq!(c.top(1), vec![("b".to_string(), 4)]);
    }
}
