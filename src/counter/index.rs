//! The key -> id index of the counter's tag table, built so a batch's lookups can be
//! prefetched.
//!
//! Why not hashbrown's `HashTable` (what this replaced): with 10 million tags each lookup
//! misses the cache three times in a row (control bytes, bucket, tag record), and those
//! misses were half of a batch's cost (5 ms of 10.7 for 10,000 lookups, against 0.6 ms
//! with 10,000 tags). hashbrown gives no way to prefetch a key's bucket, so the misses of
//! one lookup cannot overlap those of the next. This table can: [`Index::prefetch`] loads a
//! key's first slot ahead of time and [`Index::peek`] names a candidate id from the slots
//! alone, so the counter reads a whole batch's slots with their misses in flight together,
//! then prefetches the candidates' records and checks their keys (`benches/count.rs`
//! measures it; the README has the figures).
//!
//! Open addressing with linear probing. A slot is a `u64`: the upper 32 bits of the key's
//! hash (a fingerprint, so a probe rarely compares a key it need not) and the id + 1 in the
//! lower 32 bits; 0 is an empty slot. The slot position comes from the hash's lower bits.
//! At most 3/4 full. Keys are not stored: the caller compares them in its own records and
//! rehashes them when the table grows.

/// Hints the CPU to load the cache line at `p`. Does nothing on other architectures.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Asks the kernel to back `v`'s buffer with huge pages (2 MiB) where it can: with a
/// state of millions of tags, every tag a batch touches is on a page of its own, and with
/// 4 KiB pages each of those accesses is a TLB miss and a page walk (in a virtual machine,
/// a walk through two sets of page tables). Only for large buffers (at least 4 MiB);
/// a hint that changes nothing but speed, and nothing on other systems.
pub fn advise_huge_pages<T>(v: &Vec<T>) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = v.capacity() * std::mem::size_of::<T>();
        if bytes < 2 * HUGE {
            return;
        }
        let start = v.as_ptr() as usize;
        let aligned = start.next_multiple_of(HUGE);
        let end = (start + bytes) / HUGE * HUGE;
        if end > aligned {
            // SAFETY: the range lies inside `v`'s allocation; MADV_HUGEPAGE changes how
            // its pages are backed, never their contents.
            unsafe {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    slots: Vec<u64>,
    len: usize,
}

fn fingerprint(hash: u64) -> u64 {
    hash >> 32
}

impl Index {
    pub fn with_capacity(n: usize) -> Index {
        let mut ix = Index::default();
        if n > 0 {
            // Zeroed pages are only mapped when first written, so the advice still applies.
            ix.slots = vec![0; (n * 4 / 3 + 1).next_power_of_two().max(8)];
            advise_huge_pages(&ix.slots);
        }
        ix
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    fn home(&self, hash: u64) -> usize {
        hash as usize & (self.slots.len() - 1)
    }

    /// Starts loading the slot where a lookup of `hash` begins.
    #[inline]
    pub fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            prefetch(&self.slots[self.home(hash)]);
        }
    }

    /// The first id whose fingerprint matches `hash`, without comparing keys: a candidate
    /// the caller must check against its key (another key may share the fingerprint, and
    /// `None` is only a hint that the key is new). Looks at no more than a few slots.
    #[inline]
    pub fn peek(&self, hash: u64) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        for _ in 0..4 {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if s >> 32 == fingerprint(hash) {
                return Some((s as u32).wrapping_sub(1));
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// The id of the key with this hash for which `eq` holds.
    #[inline]
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        loop {
            let s = self.slots[i];
            if s == 0 {
                return None;
            }
            if s >> 32 == fingerprint(hash) && eq((s as u32).wrapping_sub(1)) {
                return Some((s as u32).wrapping_sub(1));
            }
            i = (i + 1) & mask;
        }
    }

    /// Adds `id` under `hash`; the caller has checked the key is not there. `rehash` gives
    /// the hash of any id already in the table, for growing it.
    pub fn insert(&mut self, hash: u64, id: u32, rehash: impl Fn(u32) -> u64) {
        assert!(id < u32::MAX, "at most 2^32 - 1 tags");
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            let mut bigger = Index::with_capacity((self.len + 1) * 2);
            for &s in &self.slots {
                if s != 0 {
                    let id = (s as u32) - 1;
                    bigger.place(rehash(id), id);
                }
            }
            bigger.len = self.len;
            *self = bigger;
        }
        self.place(hash, id);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, id: u32) {
        let mask = self.slots.len() - 1;
        let mut i = self.home(hash);
        while self.slots[i] != 0 {
            i = (i + 1) & mask;
        }
        self.slots[i] = (fingerprint(hash) << 32) | u64::from(id + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::hash::BuildHasher;

    proptest! {
        /// Against std's HashMap, with a hasher that collides often (few distinct hashes),
        /// so probing, fingerprints and growth are all exercised.
        #[test]
        fn agrees_with_a_hashmap(keys in proptest::collection::vec(0u32..400, 0..600), shift in 0u32..8) {
            // Keys that agree but for their low `shift` bits share a hash.
            let h = |k: u32| foldhash::fast::FixedState::with_seed(7).hash_one(k >> shift);
            let mut ix = Index::default();
            let mut ids: Vec<u32> = Vec::new(); // id -> key
            let mut map = std::collections::HashMap::new();
            for k in keys {
                let found = ix.find(h(k), |id| ids[id as usize] == k);
                prop_assert_eq!(found, map.get(&k).copied());
                if found.is_none() {
                    let id = ids.len() as u32;
                    ids.push(k);
                    ix.insert(h(k), id, |id| h(ids[id as usize]));
                    map.insert(k, id);
                }
                if let Some(p) = ix.peek(h(k)) {
                    prop_assert!((p as usize) < ids.len());
                }
            }
            prop_assert_eq!(ix.len(), map.len());
            for (k, id) in &map {
                prop_assert_eq!(ix.find(h(*k), |i| ids[i as usize] == *k), Some(*id));
            }
        }
    }
}
