/*!
Shards: one audit split across processes or machines, each counting a
disjoint part of the files, merged afterwards (`tokenaudit merge`).

A file belongs to shard `h mod N` + 1, where `h` is the first 8 bytes, read
as a big-endian integer, of the SHA-256 of the file's path relative to the
root it was found under, written with `/` between components, in UTF-8
(`digest::Roots::relative`). Nothing else enters: not the machine, the OS,
the walk order, the thread count or the tool's version, so every shard of
an array job agrees on the partition without talking to the others, and
a rerun of one shard counts the same files.
*/

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::digest::Roots;

/// Shard `index` of `count` (1-based, as `--shard 3/7` writes it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The environment variables `--shard auto/N` reads, in order, with the
/// first index each scheduler hands out.
pub const SCHEDULER_VARIABLES: [(&str, u32); 3] = [
    // Kubernetes Indexed Jobs: 0 .. completions-1.
    ("JOB_COMPLETION_INDEX", 0),
    // AWS Batch array jobs: 0 .. size-1.
    ("AWS_BATCH_JOB_ARRAY_INDEX", 0),
    // Slurm job arrays: any range (`--array=1-7`, `0-6`); the minimum is
    // read from SLURM_ARRAY_TASK_MIN when it is set.
    ("SLURM_ARRAY_TASK_ID", 0),
];

impl Shard {
    /// `I/N` (1 ≤ I ≤ N), or `auto/N`: the index from the scheduler's
    /// environment (see [`SCHEDULER_VARIABLES`]).
    pub fn parse(spec: &str) -> Result<Shard, String> {
        Self::parse_with(spec, |name| std::env::var(name).ok())
    }

    /// [`Shard::parse`] with the environment given (for tests).
    pub fn parse_with(spec: &str, env: impl Fn(&str) -> Option<String>) -> Result<Shard, String> {
        let usage = || {
            format!("--shard `{spec}`: expected I/N (shard I of N, 1 ≤ I ≤ N, e.g. 3/7) or auto/N")
        };
        let (index, count) = spec.trim().split_once('/').ok_or_else(usage)?;
        let count: u32 = count.trim().parse().map_err(|_| usage())?;
        if count == 0 {
            return Err(format!("--shard `{spec}`: N must be at least 1"));
        }
        let index = match index.trim() {
            "auto" => Self::from_scheduler(count, &env)?,
            i => i.parse::<u32>().map_err(|_| usage())?,
        };
        if index == 0 || index > count {
            return Err(format!(
                "--shard `{spec}`: shard {index} is not between 1 and {count}"
            ));
        }
        Ok(Shard { index, count })
    }

    fn from_scheduler(count: u32, env: &impl Fn(&str) -> Option<String>) -> Result<u32, String> {
        for (name, first) in SCHEDULER_VARIABLES {
            let Some(value) = env(name) else { continue };
            let parse = |v: &str, what: &str| {
                v.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("--shard auto/{count}: {what}=`{v}` is not an index"))
            };
            let raw = parse(&value, name)?;
            let first = match (name, env("SLURM_ARRAY_TASK_MIN")) {
                ("SLURM_ARRAY_TASK_ID", Some(min)) => parse(&min, "SLURM_ARRAY_TASK_MIN")?,
                _ => first,
            };
            let Some(zero_based) = raw.checked_sub(first) else {
                return Err(format!(
                    "--shard auto/{count}: {name}={raw} is below its first index {first}"
                ));
            };
            return Ok(zero_based + 1);
        }
        let names: Vec<&str> = SCHEDULER_VARIABLES.iter().map(|(n, _)| *n).collect();
        Err(format!(
            "--shard auto/{count}: none of {} is set; give the index yourself (--shard I/{count})",
            names.join(", ")
        ))
    }

    /// The shard (1-based) of a path relative to its root, among `count`.
    pub fn of(relative: &str, count: u32) -> u32 {
        let h: [u8; 32] = Sha256::digest(relative.as_bytes()).into();
        let h = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        (h % count as u64) as u32 + 1
    }

    /// Whether `relative` (a path relative to its root) is in this shard.
    pub fn contains(&self, relative: &str) -> bool {
        Self::of(relative, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// A shard and the roots its paths are relative to: what the walk asks
/// of every file it finds.
pub struct ShardFilter {
    pub shard: Shard,
    pub roots: Roots,
}

impl ShardFilter {
    pub fn keeps(&self, path: &std::path::Path) -> bool {
        self.shard.contains(&self.roots.relative(path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        move |name| vars.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    #[test]
    fn specs() {
        let none = env(&[]);
        assert_eq!(
            Shard::parse_with("3/7", &none),
            Ok(Shard { index: 3, count: 7 })
        );
        assert_eq!(
            Shard::parse_with(" 1/1 ", &none),
            Ok(Shard { index: 1, count: 1 })
        );
        for bad in ["0/3", "4/3", "3", "a/3", "1/0", "1/-2", "/3", ""] {
            assert!(Shard::parse_with(bad, &none).is_err(), "{bad}");
        }
        let e = Shard::parse_with("auto/4", &none).unwrap_err();
        assert!(e.contains("JOB_COMPLETION_INDEX"), "{e}");
    }

    #[test]
    fn auto_reads_each_scheduler_from_its_first_index() {
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        assert_eq!(Shard::parse_with("auto/4", &k8s).unwrap().index, 1);
        let batch = env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "3")]);
        assert_eq!(Shard::parse_with("auto/4", &batch).unwrap().index, 4);
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "5"), ("SLURM_ARRAY_TASK_MIN", "1")]);
        assert_eq!(Shard::parse_with("auto/7", &slurm).unwrap().index, 5);
        let slurm0 = env(&[("SLURM_ARRAY_TASK_ID", "6")]);
        assert_eq!(Shard::parse_with("auto/7", &slurm0).unwrap().index, 7);
        let over = env(&[("JOB_COMPLETION_INDEX", "4")]);
        assert!(Shard::parse_with("auto/4", &over).is_err());
        let junk = env(&[("JOB_COMPLETION_INDEX", "x")]);
        assert!(Shard::parse_with("auto/4", &junk).is_err());
    }

    /// The partition is part of the on-disk contract (shards run by
    /// different versions must agree): these values are SHA-256 computed
    /// independently (`printf %s a.txt | sha256sum`, first 16 hex digits), not by `of`.
    #[test]
    fn the_partition_is_the_documented_hash() {
        for (path, first8) in [
            ("a.txt", "18b7cb099a9ea3f5"),
            ("docs/contract.pdf", "e6fef9f45f2ed4ba"),
        ] {
            let h = u64::from_str_radix(first8, 16).unwrap();
            for n in [1u32, 2, 3, 7] {
                assert_eq!(Shard::of(path, n), (h % n as u64) as u32 + 1, "{path} {n}");
            }
        }
    }

    proptest::proptest! {
        /// Every path, whatever its characters, is in exactly one shard of
        /// any split: the shards are disjoint and cover everything.
        #[test]
        fn every_path_is_in_exactly_one_shard(path in "\\PC{0,80}", n in 1u32..50) {
            let owners = (1..=n)
                .filter(|&index| Shard { index, count: n }.contains(&path))
                .count();
            proptest::prop_assert_eq!(owners, 1);
        }
    }
}
