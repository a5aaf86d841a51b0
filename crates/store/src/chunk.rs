//! The chunk format: up to 65,535 samples of one series in a byte string — timestamps as
//! delta-of-delta in variable bit widths, values XOR'd against the previous value (Gorilla,
//! as in Prometheus' XOR chunks). Regular scrapes cost about one bit per timestamp and a few
//! bits per slowly changing value. Values round-trip bit for bit: NaN payloads, ±Inf and
//! Prometheus' staleness marker included.
//!
//! Layout: sample count (u16, big endian), then a bit stream: the first timestamp and value as
//! 64 raw bits each, then for every further sample its timestamp's delta-of-delta and its value.

use crate::bits::{BitReader, BitWriter};

/// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
pub const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    #[error("out of order sample: timestamp {timestamp} is older than the last one, {last}")]
    OutOfOrder { timestamp: i64, last: i64 },
    #[error("duplicate sample for timestamp {timestamp} with a different value")]
    Duplicate { timestamp: i64 },
    #[error("chunk is full")]
    Full,
}

/// Delta-of-delta buckets: (prefix, prefix length, value bits), tried in order.
const BUCKETS: [(u64, u8, u8); 3] = [(0b10, 2, 14), (0b110, 3, 17), (0b1110, 4, 20)];

fn fits(value: i64, bits: u8) -> bool {
    let half = 1i64 << (bits - 1);
    -(half - 1) <= value && value <= half
}

#[derive(Clone, Debug, Default)]
pub struct ChunkEncoder {
    bits: BitWriter,
    count: u16,
    last_timestamp: i64,
    last_delta: i64,
    last_value: u64,
    /// Leading and trailing zero bits of the last XOR written with its own window.
    leading: u8,
    trailing: u8,
}

impl ChunkEncoder {
    pub fn new() -> Self {
        ChunkEncoder {
            leading: u8::MAX,
            ..ChunkEncoder::default()
        }
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The time of the last sample, if any.
    pub fn last_timestamp(&self) -> Option<i64> {
        (self.count > 0).then_some(self.last_timestamp)
    }

    /// Appends a sample. An exact repeat of the last sample is ignored (`Ok(false)`), as
    /// Prometheus does; an older timestamp or another value at the same time is refused.
    pub fn append(&mut self, timestamp: i64, value: f64) -> Result<bool, AppendError> {
        let bits = value.to_bits();
        if self.count > 0 {
            if timestamp < self.last_timestamp {
                return Err(AppendError::OutOfOrder {
                    timestamp,
                    last: self.last_timestamp,
                });
            }
            if timestamp == self.last_timestamp {
                return if bits == self.last_value {
                    Ok(false)
                } else {
                    Err(AppendError::Duplicate { timestamp })
                };
            }
        }
        if self.count == u16::MAX {
            return Err(AppendError::Full);
        }
        match self.count {
            0 => {
                self.bits.write_bits(timestamp as u64, 64);
                self.bits.write_bits(bits, 64);
            }
            _ => {
                let delta = timestamp.wrapping_sub(self.last_timestamp);
                self.write_delta_of_delta(delta.wrapping_sub(self.last_delta));
                self.write_value(bits);
                self.last_delta = delta;
            }
        }
        self.last_timestamp = timestamp;
        self.last_value = bits;
        self.count += 1;
        Ok(true)
    }

    fn write_delta_of_delta(&mut self, dod: i64) {
        if dod == 0 {
            self.bits.write_bit(false);
            return;
        }
        for (prefix, prefix_bits, value_bits) in BUCKETS {
            if fits(dod, value_bits) {
                self.bits.write_bits(prefix, prefix_bits);
                self.bits.write_bits(dod as u64, value_bits);
                return;
            }
        }
        self.bits.write_bits(0b1111, 4);
        self.bits.write_bits(dod as u64, 64);
    }

    fn write_value(&mut self, bits: u64) {
        let xor = bits ^ self.last_value;
        if xor == 0 {
            self.bits.write_bit(false);
            return;
        }
        self.bits.write_bit(true);
        // Five bits hold the leading count, so at most 31.
        let leading = (xor.leading_zeros() as u8).min(31);
        let trailing = xor.trailing_zeros() as u8;
        if self.leading != u8::MAX && leading >= self.leading && trailing >= self.trailing {
            self.bits.write_bit(false);
            self.bits
                .write_bits(xor >> self.trailing, 64 - self.leading - self.trailing);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            let significant = 64 - leading - trailing;
            self.bits.write_bit(true);
            self.bits.write_bits(leading as u64, 5);
            // 64 significant bits do not fit in six; they are written as 0.
            self.bits.write_bits(significant as u64 & 0x3f, 6);
            self.bits.write_bits(xor >> trailing, significant);
        }
    }

    /// The chunk as stored: the count, then the bit stream.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.bits.bytes().len());
        out.extend_from_slice(&self.count.to_be_bytes());
        out.extend_from_slice(self.bits.bytes());
        out
    }
}

/// The samples of an encoded chunk, in order. Stops early on a truncated chunk.
#[derive(Clone, Debug)]
pub struct ChunkIter<'a> {
    bits: BitReader<'a>,
    remaining: u16,
    read: u16,
    timestamp: i64,
    delta: i64,
    value: u64,
    leading: u8,
    trailing: u8,
}

impl<'a> ChunkIter<'a> {
    pub fn new(chunk: &'a [u8]) -> Self {
        let (count, rest) = match chunk {
            [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
            _ => (0, &[][..]),
        };
        ChunkIter {
            bits: BitReader::new(rest),
            remaining: count,
            read: 0,
            timestamp: 0,
            delta: 0,
            value: 0,
            leading: 0,
            trailing: 0,
        }
    }

    fn read_delta_of_delta(&mut self) -> Option<i64> {
        let mut prefix = 0u8;
        while prefix < 4 && self.bits.read_bit()? {
            prefix += 1;
        }
        let width = match prefix {
            0 => return Some(0),
            1..=3 => BUCKETS[prefix as usize - 1].2,
            _ => 64,
        };
        let raw = self.bits.read_bits(width)?;
        if width == 64 {
            return Some(raw as i64);
        }
        // Sign-extend: the positive range reaches 2^(width-1) inclusive, as written.
        Some(if raw > 1 << (width - 1) {
            raw as i64 - (1i64 << width)
        } else {
            raw as i64
        })
    }

    fn read_value(&mut self) -> Option<u64> {
        if !self.bits.read_bit()? {
            return Some(self.value);
        }
        if self.bits.read_bit()? {
            self.leading = self.bits.read_bits(5)? as u8;
            let significant = match self.bits.read_bits(6)? as u8 {
                0 => 64,
                n => n,
            };
            self.trailing = 64 - self.leading - significant;
        }
        let significant = 64 - self.leading - self.trailing;
        let xor = self.bits.read_bits(significant)? << self.trailing;
        Some(self.value ^ xor)
    }

    fn next_sample(&mut self) -> Option<(i64, f64)> {
        match self.read {
            0 => {
                self.timestamp = self.bits.read_bits(64)? as i64;
                self.value = self.bits.read_bits(64)?;
            }
            _ => {
                self.delta = self.delta.wrapping_add(self.read_delta_of_delta()?);
                self.timestamp = self.timestamp.wrapping_add(self.delta);
                self.value = self.read_value()?;
            }
        }
        Some((self.timestamp, f64::from_bits(self.value)))
    }
}

impl Iterator for ChunkIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.remaining == 0 {
            return None;
        }
        let sample = self.next_sample();
        match sample {
            Some(_) => {
                self.remaining -= 1;
                self.read += 1;
            }
            None => self.remaining = 0,
        }
        sample
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn round_trip(samples: &[(i64, u64)]) -> Vec<(i64, u64)> {
        let mut encoder = ChunkEncoder::new();
        for &(t, v) in samples {
            assert_eq!(encoder.append(t, f64::from_bits(v)), Ok(true));
        }
        ChunkIter::new(&encoder.encode())
            .map(|(t, v)| (t, v.to_bits()))
            .collect()
    }

    #[test]
    fn special_values_round_trip_bit_exact() {
        let specials = [
            STALE_NAN,
            f64::NAN.to_bits(),
            0x7ff8_dead_beef_0001, // a NaN with a payload
            f64::INFINITY.to_bits(),
            f64::NEG_INFINITY.to_bits(),
            0.0f64.to_bits(),
            (-0.0f64).to_bits(),
            f64::MIN_POSITIVE.to_bits(),
            1u64, // the smallest subnormal
            f64::MAX.to_bits(),
            STALE_NAN,
        ];
        let samples: Vec<(i64, u64)> = specials
            .iter()
            .enumerate()
            .map(|(i, v)| (1_700_000_000_000 + 15_000 * i as i64, *v))
            .collect();
        assert_eq!(round_trip(&samples), samples);
    }

    #[test]
    fn order_and_duplicates_are_handled_as_prometheus_does() {
        let mut encoder = ChunkEncoder::new();
        assert_eq!(encoder.append(1000, 1.0), Ok(true));
        assert_eq!(
            encoder.append(1000, 1.0),
            Ok(false),
            "an identical repeat is ignored"
        );
        assert_eq!(
            encoder.append(1000, 2.0),
            Err(AppendError::Duplicate { timestamp: 1000 })
        );
        assert_eq!(
            encoder.append(999, 1.0),
            Err(AppendError::OutOfOrder {
                timestamp: 999,
                last: 1000
            })
        );
        assert_eq!(encoder.append(2000, 2.0), Ok(true));
        // The refused samples left the chunk as it was.
        assert_eq!(
            ChunkIter::new(&encoder.encode()).collect::<Vec<_>>(),
            vec![(1000, 1.0), (2000, 2.0)]
        );
    }

    fn encoded_size(samples: impl Iterator<Item = (i64, f64)>) -> usize {
        let mut encoder = ChunkEncoder::new();
        for (t, v) in samples {
            encoder.append(t, v).unwrap();
        }
        encoder.encode().len()
    }

    #[test]
    fn regular_scrapes_compress_to_a_few_bits_a_sample() {
        const T0: i64 = 1_700_000_000_000;
        // A counter growing by small integers, scraped exactly every 15 s.
        let counter = |i: i64| (0..=i).map(|k| (k % 7) as f64).sum::<f64>();
        let exact = encoded_size((0..120).map(|i| (T0 + i * 15_000, counter(i))));
        // About 1.5 bytes a sample, what Prometheus reaches on such data.
        assert!(
            exact <= 192,
            "{exact} bytes for 120 samples of a steady counter"
        );
        // The same with the millisecond jitter of real scrapes: each timestamp then costs 16 bits.
        let jittered = encoded_size((0..120).map(|i| (T0 + i * 15_000 + i % 3, counter(i))));
        assert!(
            jittered <= 3 * 120,
            "{jittered} bytes for 120 jittered samples"
        );
        // A constant gauge: one bit for the time and one for the value.
        let constant = encoded_size((0..120).map(|i| (T0 + i * 15_000, 42.0)));
        // Count, first sample, the first delta (20 bits), then two bits for each further sample.
        assert!(
            constant <= 2 + 16 + 3 + 30,
            "{constant} bytes for a constant series"
        );
    }

    #[test]
    fn truncated_and_empty_chunks_decode_to_what_is_there() {
        assert_eq!(ChunkIter::new(&[]).count(), 0);
        let mut encoder = ChunkEncoder::new();
        for i in 0..10 {
            encoder.append(i * 1000, i as f64 * 1.5).unwrap();
        }
        let bytes = encoder.encode();
        let cut = &bytes[..bytes.len() / 2];
        let partial: Vec<_> = ChunkIter::new(cut).collect();
        assert!(!partial.is_empty() && partial.len() < 10);
        assert_eq!(
            partial,
            ChunkIter::new(&bytes)
                .take(partial.len())
                .collect::<Vec<_>>()
        );
    }

    fn series() -> impl Strategy<Value = Vec<(i64, u64)>> {
        let start = -(1i64 << 50)..(1i64 << 50);
        let steps = prop::collection::vec(
            prop_oneof![1i64..=1, 1i64..100_000, 1i64..(1i64 << 40), Just(15_000i64)],
            0..300,
        );
        let values = prop::collection::vec(
            prop_oneof![
                any::<u64>(),
                Just(STALE_NAN),
                Just(f64::NAN.to_bits()),
                Just(f64::INFINITY.to_bits()),
                (0u32..1000).prop_map(|n| (n as f64).to_bits()),
            ],
            301,
        );
        (start, steps, values).prop_map(|(start, steps, values)| {
            let mut t = start;
            let mut out = vec![(t, values[0])];
            for (i, step) in steps.into_iter().enumerate() {
                t += step;
                out.push((t, values[i + 1]));
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        #[test]
        fn any_increasing_series_round_trips_bit_exact(samples in series()) {
            prop_assert_eq!(round_trip(&samples), samples);
        }
    }
}
