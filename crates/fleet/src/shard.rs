//! Shards: a stable split of the fleet's tenants for parallel runners (a GitHub Actions matrix, a
//! Kubernetes Indexed Job). A tenant's shard depends only on its name and the shard count.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// FNV-1a, 64 bits: a fixed, documented hash (std's hasher is randomised per process).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h = OFFSET;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(PRIME);
    }
    h
}

/// The shard (0-based) of a tenant name among `count` shards.
pub fn shard_of(name: &str, count: u32) -> u32 {
    (fnv1a64(name.as_bytes()) % u64::from(count.max(1))) as u32
}

/// One shard of `count`: `index` in `0..count` (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index (GitHub's `strategy.job-index`, Kubernetes' `JOB_COMPLETION_INDEX`).
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// True when the tenant named `name` belongs to this shard.
    pub fn contains(&self, name: &str) -> bool {
        shard_of(name, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A `--shard` value that is not `I/N` with `0 <= I < N`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid shard `{0}`: write INDEX/COUNT with 0 <= INDEX < COUNT (shards are numbered from 0, like Kubernetes' JOB_COMPLETION_INDEX), e.g. `--shard 0/4` … `--shard 3/4`"
)]
pub struct ShardError(pub String);

impl FromStr for Shard {
    type Err = ShardError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ShardError(s.to_string());
        let (i, n) = s.split_once('/').ok_or_else(err)?;
        let index: u32 = i.trim().parse().map_err(|_| err())?;
        let count: u32 = n.trim().parse().map_err(|_| err())?;
        if count == 0 || index >= count {
            return Err(err());
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_known_values() {
        // Reference values of FNV-1a 64 (http://www.isthe.com/chongo/tech/comp/fnv/).
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }

    #[test]
    fn parse_and_display() {
        let s: Shard = "2/5".parse().unwrap();
        assert_eq!(s, Shard { index: 2, count: 5 });
        assert_eq!(s.to_string(), "2/5");
        for bad in ["5/5", "1/0", "x/2", "1", "-1/2", "1/2/3"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("numbered from 0"), "{bad}: {e}");
        }
    }

    #[test]
    fn every_tenant_in_exactly_one_shard_and_stable() {
        let names: Vec<String> = (0..1000).map(|i| format!("customer-{i:04}")).collect();
        for count in [1u32, 2, 3, 7, 16] {
            let mut sizes = vec![0usize; count as usize];
            for n in &names {
                let owners: Vec<u32> = (0..count)
                    .filter(|i| Shard { index: *i, count }.contains(n))
                    .collect();
                assert_eq!(owners.len(), 1, "{n} in {owners:?} of {count}");
                sizes[owners[0] as usize] += 1;
            }
            // Balanced enough: no shard is empty or more than twice its share.
            let share = names.len() / count as usize;
            assert!(sizes.iter().all(|s| *s > 0 && *s <= 2 * share), "{sizes:?}");
        }
        // Pinned: the assignment never changes between versions or machines.
        let pinned = [
            ("contoso", 0, 0),
            ("fabrikam", 2, 6),
            ("northwind", 2, 10),
            ("customer-0001", 3, 15),
        ];
        for (name, of4, of16) in pinned {
            assert_eq!(shard_of(name, 4), of4, "{name}");
            assert_eq!(shard_of(name, 16), of16, "{name}");
        }
    }
}
