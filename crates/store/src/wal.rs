//! The body of an ingest-log row: the samples one group commit accepted, by series id.
//!
//! Layout (version 1): a version byte, then per series: series id (varint), sample count
//! (varint), then each sample as a zig-zag varint timestamp delta (the first against 0) and
//! the value's 64 bits little endian. About 10 bytes a sample; the log lives only until the
//! next checkpoint, so simplicity wins over size here.

const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
#[error("ingest log body is corrupt at byte {0}")]
pub struct CorruptBody(pub usize);

pub type Entry = (i64, Vec<(i64, f64)>);

pub fn encode<'a>(entries: impl IntoIterator<Item = &'a Entry, IntoIter: Clone>) -> Vec<u8> {
    let entries = entries.into_iter();
    let samples: usize = entries.clone().map(|(_, s)| s.len() + 1).sum();
    let mut out = Vec::with_capacity(1 + samples * 11);
    out.push(VERSION);
    for (series, samples) in entries {
        put_varint(&mut out, *series as u64);
        put_varint(&mut out, samples.len() as u64);
        let mut previous = 0i64;
        for &(timestamp, value) in samples {
            put_varint(&mut out, zigzag(timestamp.wrapping_sub(previous)));
            out.extend_from_slice(&value.to_bits().to_le_bytes());
            previous = timestamp;
        }
    }
    out
}

pub fn decode(body: &[u8]) -> Result<Vec<Entry>, CorruptBody> {
    let mut at = 0usize;
    if body.first() != Some(&VERSION) {
        return Err(CorruptBody(0));
    }
    at += 1;
    let mut entries = Vec::new();
    while at < body.len() {
        let series = get_varint(body, &mut at)? as i64;
        let count = get_varint(body, &mut at)? as usize;
        if count > body.len() {
            return Err(CorruptBody(at));
        }
        let mut samples = Vec::with_capacity(count);
        let mut previous = 0i64;
        for _ in 0..count {
            let timestamp = previous.wrapping_add(unzigzag(get_varint(body, &mut at)?));
            let bytes: [u8; 8] = body
                .get(at..at + 8)
                .ok_or(CorruptBody(at))?
                .try_into()
                .map_err(|_| CorruptBody(at))?;
            at += 8;
            samples.push((timestamp, f64::from_bits(u64::from_le_bytes(bytes))));
            previous = timestamp;
        }
        entries.push((series, samples));
    }
    Ok(entries)
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn get_varint(body: &[u8], at: &mut usize) -> Result<u64, CorruptBody> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *body.get(*at).ok_or(CorruptBody(*at))?;
        *at += 1;
        value |= ((byte & 0x7f) as u64) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(CorruptBody(*at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::STALE_NAN;

    #[test]
    fn round_trips_bit_exact() {
        let entries = vec![
            (
                1,
                vec![
                    (-5, 1.0),
                    (1_700_000_000_000, f64::NAN),
                    (1_700_000_015_000, f64::from_bits(STALE_NAN)),
                ],
            ),
            (i64::MAX, vec![(i64::MIN, f64::INFINITY), (i64::MAX, -0.0)]),
            (7, vec![]),
        ];
        let decoded = decode(&encode(&entries)).unwrap();
        assert_eq!(decoded.len(), 3);
        for ((a, sa), (b, sb)) in entries.iter().zip(&decoded) {
            assert_eq!(a, b);
            let bits =
                |s: &Vec<(i64, f64)>| s.iter().map(|(t, v)| (*t, v.to_bits())).collect::<Vec<_>>();
            assert_eq!(bits(sa), bits(sb));
        }
    }

    #[test]
    fn truncated_bodies_are_errors_not_panics() {
        let body = encode(&[(3, vec![(10, 1.5), (20, 2.5)])]);
        for end in 0..body.len() {
            let _ = decode(&body[..end]);
        }
        assert!(decode(&body[..body.len() - 1]).is_err());
        assert!(decode(&[]).is_err());
    }
}
