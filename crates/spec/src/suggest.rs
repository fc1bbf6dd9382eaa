//! "Did you mean …?": a small edit distance.

/// The Levenshtein distance between two strings, counted in characters, ignoring ASCII case.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate to `input`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a, I>(input: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let limit = (input.chars().count() / 3).max(2);
    let lower = input.to_ascii_lowercase();
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    candidates
        .iter()
        .map(|c| (edit_distance(input, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
        .or_else(|| {
            // A clear abbreviation: `single` for `single-tenant`.
            let mut prefixed = candidates
                .iter()
                .filter(|c| lower.len() >= 3 && c.to_ascii_lowercase().starts_with(&lower));
            match (prefixed.next(), prefixed.next()) {
                (Some(c), None) => Some(*c),
                _ => None,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("redirectUri", "redirectUris"), 1);
        assert_eq!(edit_distance("GROUPS", "groups"), 0);
    }

    #[test]
    fn suggestions() {
        let fields = ["redirectUris", "displayName", "tokens"];
        assert_eq!(did_you_mean("redirectUri", fields), Some("redirectUris"));
        assert_eq!(did_you_mean("displayname", fields), Some("displayName"));
        assert_eq!(did_you_mean("zzz", fields), None);
        let audiences = ["single-tenant", "multi-tenant", "multi-tenant-and-personal"];
        assert_eq!(did_you_mean("single", audiences), Some("single-tenant"));
        assert_eq!(did_you_mean("multi", audiences), None);
    }
}
