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

    pub fn read_bits(&mut self, count: u8) -> Option<u64> {
        (0..count).try_fold(0u64, |acc, _| Some((acc << 1) | self.read_bit()? as u64))
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
    }
}
