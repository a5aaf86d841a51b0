//! When a group evaluates. Prometheus spreads groups over their interval: each group is offset
//! by the hash of its name and file, so a thousand groups of one interval do not all run at the
//! same moment, and a group keeps its phase across restarts and replicas (the same name and file
//! give the same times everywhere).

/// Prometheus' `Group.hash()`: the xxHash64 of the labels `{file, name}` as Prometheus hashes a
/// label set (each name and value followed by 0xff, sorted by name).
pub fn group_hash(name: &str, file: &str) -> u64 {
    let mut bytes = Vec::with_capacity(name.len() + file.len() + 12);
    for (label, value) in [("file", file), ("name", name)] {
        bytes.extend_from_slice(label.as_bytes());
        bytes.push(0xff);
        bytes.extend_from_slice(value.as_bytes());
        bytes.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&bytes, 0)
}

/// Prometheus' `Group.EvalTimestamp`: the start of the iteration that contains `now_ns`, all in
/// nanoseconds since the epoch.
pub fn eval_timestamp(now_ns: i64, interval_ns: i64, hash: u64) -> i64 {
    let offset = (hash % interval_ns as u64) as i64;
    let adjusted = now_ns - offset;
    adjusted - adjusted.rem_euclid(interval_ns) + offset
}

/// Iterations that should have run between the one at `last_ns` and the one at `now_ns` and did
/// not (Prometheus' `rule_group_iterations_missed_total`).
pub fn missed(last_ns: i64, now_ns: i64, interval_ns: i64) -> i64 {
    ((now_ns - last_ns) / interval_ns - 1).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;

    #[test]
    fn groups_keep_their_phase_within_the_interval() {
        let interval = 60 * SECOND;
        let hash = group_hash("api", "/etc/prometheus/rules.yml");
        assert_eq!(
            hash,
            group_hash("api", "/etc/prometheus/rules.yml"),
            "stable"
        );
        assert_ne!(hash, group_hash("web", "/etc/prometheus/rules.yml"));
        let offset = (hash % interval as u64) as i64;
        for now in [
            1_733_356_800 * SECOND,
            1_733_356_800 * SECOND + 59 * SECOND + 7,
            5 * SECOND,
        ] {
            let ts = eval_timestamp(now, interval, hash);
            assert!(ts <= now && now - ts < interval, "{ts} for {now}");
            assert_eq!(
                ts.rem_euclid(interval),
                offset,
                "every iteration at the group's offset"
            );
        }
        // The next iteration is one interval on.
        let ts = eval_timestamp(1_733_356_800 * SECOND, interval, hash);
        assert_eq!(eval_timestamp(ts + interval, interval, hash), ts + interval);
    }

    #[test]
    fn xxhash_is_the_reference_function() {
        // The reference vector of xxHash64 for empty input, seed 0.
        assert_eq!(xxhash_rust::xxh64::xxh64(b"", 0), 0xEF46_DB37_51D8_E999);
    }

    #[test]
    fn missed_iterations_count_the_gaps() {
        let i = 60 * SECOND;
        assert_eq!(missed(0, i, i), 0);
        assert_eq!(missed(0, 3 * i, i), 2);
        assert_eq!(missed(0, i / 2, i), 0);
    }
}
