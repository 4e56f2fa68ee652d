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
            self.grow((self.len + 1) * 2, rehash);
        }
        self.place(hash, id);
        self.len += 1;
    }

    /// Room for `n` keys in all, growing once; `rehash` as for [`Index::insert`].
    pub fn reserve(&mut self, n: usize, rehash: impl Fn(u32) -> u64) {
        if n * 4 > self.slots.len() * 3 {
            self.grow(n, rehash);
        }
    }

    fn grow(&mut self, n: usize, rehash: impl Fn(u32) -> u64) {
        let mut bigger = Index::with_capacity(n);
        for &s in &self.slots {
            if s != 0 {
                let id = (s as u32) - 1;
                bigger.place(rehash(id), id);
            }
        }
        bigger.len = self.len;
        *self = bigger;
    }

    /// Removes `id`, stored under `hash`; `rehash` gives the hash of any id in the table.
    /// Backward-shift deletion (no tombstones): the entries after it in its run move back
    /// into the hole unless that would put one before its home slot, so lookups stay as
    /// short as if `id` had never been added, however many tags come and go.
    pub fn remove(&mut self, hash: u64, id: u32, rehash: impl Fn(u32) -> u64) {
        if self.slots.is_empty() {
            return;
        }
        let mask = self.slots.len() - 1;
        let mut hole = self.home(hash);
        loop {
            let s = self.slots[hole];
            if s == 0 {
                return; // not there
            }
            if s as u32 == id + 1 {
                break;
            }
            hole = (hole + 1) & mask;
        }
        let mut j = hole;
        loop {
            j = (j + 1) & mask;
            let s = self.slots[j];
            if s == 0 {
                break;
            }
            let home = self.home(rehash((s as u32) - 1));
            // Moving `s` back to the hole keeps it reachable when the hole lies on its
            // probe path: between its home and its slot, going round.
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.slots[hole] = s;
                hole = j;
            }
        }
        self.slots[hole] = 0;
        self.len -= 1;
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
        /// so probing, fingerprints, removal and growth are all exercised. An op adds a key
        /// (if new) or, with `remove`, removes it (if there); removed ids are reused, as the
        /// counter reuses the ids of forgotten tags.
        #[test]
        fn agrees_with_a_hashmap(
            ops in proptest::collection::vec((0u32..400, proptest::bool::weighted(0.3)), 0..800),
            shift in 0u32..8,
        ) {
            // Keys that agree but for their low `shift` bits share a hash.
            let h = |k: u32| foldhash::fast::FixedState::with_seed(7).hash_one(k >> shift);
            let mut ix = Index::default();
            let mut ids: Vec<Option<u32>> = Vec::new(); // id -> key
            let mut free: Vec<u32> = Vec::new();
            let mut map = std::collections::HashMap::new();
            for (k, remove) in ops {
                let found = ix.find(h(k), |id| ids[id as usize] == Some(k));
                prop_assert_eq!(found, map.get(&k).copied());
                match (found, remove) {
                    (Some(id), true) => {
                        ix.remove(h(k), id, |i| h(ids[i as usize].expect("live")));
                        ids[id as usize] = None;
                        free.push(id);
                        map.remove(&k);
                    }
                    (None, false) => {
                        let id = free.pop().unwrap_or(ids.len() as u32);
                        if id as usize == ids.len() {
                            ids.push(Some(k));
                        } else {
                            ids[id as usize] = Some(k);
                        }
                        ix.insert(h(k), id, |i| h(ids[i as usize].expect("live")));
                        map.insert(k, id);
                    }
                    _ => {}
                }
                if let Some(p) = ix.peek(h(k)) {
                    prop_assert!(ids.get(p as usize).is_some_and(Option::is_some));
                }
            }
            prop_assert_eq!(ix.len(), map.len());
            for (k, id) in &map {
                prop_assert_eq!(ix.find(h(*k), |i| ids[i as usize] == Some(*k)), Some(*id));
            }
        }
    }
}
