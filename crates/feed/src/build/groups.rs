//! Which collections are built side by side: groups no larger together than the largest collection, so the
//! second core works while the peak memory stays the largest collection's.

/// The collections to build at the same time, in groups run one after the other: the largest alone, then each
/// group as many as fit together in its size (a collection's build holds memory in proportion to its size, so
/// the build's peak stays that of the largest collection, while the cores the smaller ones leave idle are used).
pub(super) fn concurrent_groups(sizes: &[usize]) -> Vec<Vec<usize>> {
    let budget = sizes.iter().copied().max().unwrap_or(0);
    let mut left: Vec<usize> = (0..sizes.len()).collect();
    left.sort_by_key(|&c| std::cmp::Reverse(sizes[c]));
    let mut groups = Vec::new();
    while !left.is_empty() {
        let mut group = vec![left.remove(0)];
        let mut total = sizes[group[0]];
        left.retain(|&c| {
            if total + sizes[c] <= budget {
                total += sizes[c];
                group.push(c);
                false
            } else {
                true
            }
        });
        groups.push(group);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::concurrent_groups;

    #[test]
    fn the_largest_collection_is_built_alone_and_each_group_fits_in_its_size() {
        let sizes = [10, 3, 7, 0, 5, 2];
        let groups = concurrent_groups(&sizes);
        assert_eq!(groups, vec![vec![0, 3], vec![2, 1], vec![4, 5]]);
        let mut seen: Vec<usize> = groups.concat();
        seen.sort();
        assert_eq!(seen, (0..sizes.len()).collect::<Vec<_>>());
        assert!(concurrent_groups(&[]).is_empty());
        assert_eq!(concurrent_groups(&[4]), vec![vec![0]]);
    }
}
