//! A bit stream: most significant bit first, as the chunk format is specified.

#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Bits still free in the last byte (0 when a new byte is needed).
    free: u8,
}

impl BitWriter {
    pub fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        self.free -= 1;
        if bit {
            *self.bytes.last_mut().expect("a byte was pushed") |= 1 << self.free;
        }
    }

    /// Writes the low `count` bits of `value`, highest first.
    pub fn write_bits(&mut self, value: u64, count: u8) {
        for i in (0..count).rev() {
            self.write_bit((value >> i) & 1 == 1);
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, position: 0 }
    }

    pub fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.position / 8)?;
        let bit = (byte >> (7 - self.position % 8)) & 1 == 1;
        self.position += 1;
        Some(bit)
    }

    /// The next `count` bits (at most 64) as a number, or None (reading nothing) when fewer
    /// remain. Reads a whole word at a time: decoding spends most of its time here.
    pub fn read_bits(&mut self, count: u8) -> Option<u64> {
        debug_assert!(count <= 64);
        if count == 0 {
            return Some(0);
        }
        let end = self.position + count as usize;
        if end > self.bytes.len() * 8 {
            return None;
        }
        let first = self.position / 8;
        // The bits wanted lie in the 9 bytes from `first`; a 16-byte window holds them.
        let word = match self.bytes.get(first..first + 16) {
            Some(window) => u128::from_be_bytes(window.try_into().expect("16 bytes")),
            None => {
                let mut window = [0u8; 16];
                let tail = &self.bytes[first..];
                window[..tail.len()].copy_from_slice(tail);
                u128::from_be_bytes(window)
            }
        };
        let value = (word << (self.position % 8)) >> (128 - count as u32);
        self.position = end;
        Some(value as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_across_byte_boundaries() {
        let mut writer = BitWriter::default();
        writer.write_bit(true);
        writer.write_bits(0b1011_0011_1, 9);
        writer.write_bits(u64::MAX, 64);
        writer.write_bits(5, 3);
        let bytes = writer.bytes().to_vec();
        assert_eq!(bytes.len(), 10); // 77 bits
        let mut reader = BitReader::new(&bytes);
        assert_eq!(reader.read_bit(), Some(true));
        assert_eq!(reader.read_bits(9), Some(0b1011_0011_1));
        assert_eq!(reader.read_bits(64), Some(u64::MAX));
        assert_eq!(reader.read_bits(3), Some(5));
        assert_eq!(reader.read_bits(8), None, "only 3 padding bits remain");
        assert_eq!(reader.read_bits(3), Some(0), "a failed read reads nothing");
    }
}
