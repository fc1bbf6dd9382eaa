//! Normalisation before comparing, so plans never show noise.

use std::collections::BTreeSet;

/// True for a GUID in its 8-4-4-4-12 hex form (any case).
pub fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    b.iter().enumerate().all(|(i, c)| match i {
        8 | 13 | 18 | 23 => *c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// GUIDs compare case-insensitively; everything else is kept as is.
pub fn guid(s: &str) -> String {
    if is_guid(s) {
        s.to_ascii_lowercase()
    } else {
        s.to_string()
    }
}

/// An order-insensitive, duplicate-free set of strings (redirect URIs, tags).
pub fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().map(|s| s.trim().to_string()).collect()
}

/// Like [`set`] but case-insensitive (scope values).
pub fn set_ci(items: impl IntoIterator<Item = impl AsRef<str>>) -> BTreeSet<String> {
    items
        .into_iter()
        .map(|s| s.as_ref().trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// `groupMembershipClaims`: `null` is Graph's way of saying `None`; compare case-insensitively.
pub fn group_claims(v: Option<&str>) -> String {
    match v {
        None => "none".to_string(),
        Some(s) if s.trim().is_empty() => "none".to_string(),
        Some(s) => s.trim().to_ascii_lowercase(),
    }
}

/// Graph's default `signInAudience` for an app created without one.
pub const DEFAULT_SIGN_IN_AUDIENCE: &str = "AzureADandPersonalMicrosoftAccount";

/// Levenshtein distance (case-insensitive), for "did you mean" suggestions.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Up to three closest candidates to `wanted`.
pub fn closest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let w = wanted.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .into_iter()
        .map(|c| {
            let lc = c.to_lowercase();
            // A candidate containing what was typed (or vice versa) is a strong hint.
            let bonus = if lc.contains(&w) || w.contains(&lc) {
                0
            } else {
                1
            };
            (distance(wanted, c) * 2 + bonus, c)
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(3)
        .map(|(_, c)| c.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids() {
        assert!(is_guid("00000003-0000-0000-C000-000000000000"));
        assert!(!is_guid("00000003-0000-0000-C000-00000000000"));
        assert!(!is_guid("Microsoft Graph"));
        assert_eq!(
            guid("E1FE6DD8-BA31-4D61-89E7-88639DA4683D"),
            "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
        );
        assert_eq!(guid("User.Read"), "User.Read");
    }

    #[test]
    fn group_claims_null_is_none() {
        assert_eq!(group_claims(None), group_claims(Some("None")));
        assert_eq!(group_claims(Some("All")), group_claims(Some("all")));
        assert_ne!(group_claims(Some("All")), group_claims(None));
    }

    #[test]
    fn suggestions() {
        let c = [
            "User.Read",
            "User.ReadWrite",
            "email",
            "profile",
            "Mail.Read",
        ];
        assert_eq!(closest("User.Raed", c)[0], "User.Read");
        assert_eq!(closest("emial", c)[0], "email");
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
