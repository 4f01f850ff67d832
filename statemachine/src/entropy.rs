//! Sources of randomness: the operating system's for task tokens people must not guess, and a seeded
//! generator for tests and reproducible runs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::intrinsic::Randomness;
use crate::run::Entropy;

/// The operating system's randomness (getrandom). Tokens are 32 random bytes, URL-safe base64.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsEntropy;

impl OsEntropy {
    fn bytes<const N: usize>() -> [u8; N] {
        let mut buffer = [0u8; N];
        // getrandom fails only where the OS has no randomness at all; a zeroed buffer would make tokens
        // guessable, so that is a reason to stop rather than go on.
        getrandom::fill(&mut buffer)
            .unwrap_or_else(|e| panic!("the operating system gave no randomness: {e}"));
        buffer
    }
}

impl Randomness for OsEntropy {
    fn uuid_v4(&mut self) -> String {
        uuid_from(Self::bytes::<16>())
    }

    fn integer_in(&mut self, start: i64, end: i64, seed: Option<i64>) -> i64 {
        match seed {
            Some(seed) => SeededEntropy::new(seed as u64).integer_in(start, end, None),
            None => in_range(u64::from_le_bytes(Self::bytes::<8>()), start, end),
        }
    }
}

impl Entropy for OsEntropy {
    fn token(&mut self) -> String {
        URL_SAFE_NO_PAD.encode(Self::bytes::<32>())
    }

    fn below(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return u64::from_le_bytes(Self::bytes::<8>());
        }
        u64::from_le_bytes(Self::bytes::<8>()) % (max + 1)
    }

    fn as_randomness(&mut self) -> &mut dyn Randomness {
        self
    }
}

/// A seeded generator (splitmix64): the same seed gives the same tokens, UUIDs and jitter.
#[derive(Debug, Clone)]
pub struct SeededEntropy {
    state: u64,
}

impl SeededEntropy {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buffer: &mut [u8]) {
        for chunk in buffer.chunks_mut(8) {
            let bytes = self.next().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

impl Randomness for SeededEntropy {
    fn uuid_v4(&mut self) -> String {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes);
        uuid_from(bytes)
    }

    fn integer_in(&mut self, start: i64, end: i64, seed: Option<i64>) -> i64 {
        match seed {
            Some(seed) => SeededEntropy::new(seed as u64).integer_in(start, end, None),
            None => {
                let value = self.next();
                in_range(value, start, end)
            }
        }
    }
}

impl Entropy for SeededEntropy {
    fn token(&mut self) -> String {
        let mut bytes = [0u8; 32];
        self.fill(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn below(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next();
        }
        self.next() % (max + 1)
    }

    fn as_randomness(&mut self) -> &mut dyn Randomness {
        self
    }
}

/// A random version-4 UUID from 16 random bytes.
fn uuid_from(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0F) | 0x40;
    bytes[8] = (bytes[8] & 0x3F) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Maps a random number onto `start..=end` (either order).
fn in_range(random: u64, start: i64, end: i64) -> i64 {
    let (low, high) = if start <= end {
        (start, end)
    } else {
        (end, start)
    };
    let span = (i128::from(high) - i128::from(low) + 1) as u128;
    let offset = (u128::from(random) % span) as i128;
    (i128::from(low) + offset) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_url_safe_characters_and_differ() {
        let mut os = OsEntropy;
        let (a, b) = (os.token(), os.token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[test]
    fn seeded_entropy_repeats_itself() {
        let (mut a, mut b) = (SeededEntropy::new(7), SeededEntropy::new(7));
        assert_eq!(a.token(), b.token());
        assert_eq!(a.uuid_v4(), b.uuid_v4());
        let uuid = a.uuid_v4();
        assert_eq!(&uuid[14..15], "4");
        for _ in 0..1000 {
            let n = a.integer_in(-3, 3, None);
            assert!((-3..=3).contains(&n));
            assert!(a.below(10) <= 10);
        }
    }
}
