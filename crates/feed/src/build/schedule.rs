//! In which order, and how many at once, the collections are built: the largest first, two at a time, each
//! thread taking the next collection when it is done with one.
//!
//! A collection's build already runs two threads for part of its time (its sorts, its type streams), but most
//! of it is one thread's work. Built in groups that waited for each other, the second core was idle for half of
//! a running sync's collections (a profile of a 1% cycle at a million indicators: 1.1–1.5 cores busy). Two at a
//! time from a queue keep both cores busy to the end, and the peak memory is that of the largest collection
//! beside the next largest, not of every collection at once.

/// How many collections are built at the same time (fewer when the machine has fewer cores).
pub(super) const AT_ONCE: usize = 2;

/// The collections in the order they are started: the largest first (so that the longest starts at once and
/// the small ones fill the other thread's time around it), ties in the configuration's order.
pub(super) fn largest_first(sizes: &[usize]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
    order
}

#[cfg(test)]
mod tests {
    use super::largest_first;

    #[test]
    fn the_largest_collection_starts_first_and_ties_keep_their_order() {
        assert_eq!(largest_first(&[10, 3, 7, 0, 5, 3]), vec![0, 2, 4, 1, 5, 3]);
        assert!(largest_first(&[]).is_empty());
    }
}
