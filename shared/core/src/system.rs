//! The real [`Clock`] and [`Ids`]: the system's time and the operating system's randomness. Both runtimes
//! use them; tests inject their own.

use crate::port::{Clock, Ids};
use crate::time::Timestamp;

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_millis());
        Timestamp::from_epoch_millis(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

/// Identifiers from the operating system's randomness (getrandom).
#[derive(Debug, Default, Clone, Copy)]
pub struct RandomIds;

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn fill(bytes: &mut [u8]) {
    // getrandom fails only where the OS has no randomness at all; ids that repeat would merge executions,
    // so that is a reason to stop rather than go on.
    getrandom::fill(bytes)
        .unwrap_or_else(|e| panic!("the operating system gave no randomness: {e}"));
}

impl Ids for RandomIds {
    fn uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        fill(&mut bytes);
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

    fn token(&self, len: usize) -> String {
        let mut bytes = vec![0u8; len];
        fill(&mut bytes);
        bytes
            .iter()
            .map(|b| ALPHANUMERIC[usize::from(*b) % ALPHANUMERIC.len()] as char)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (RandomIds.uuid(), RandomIds.uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn tokens_are_alphanumeric_of_the_asked_length() {
        let token = RandomIds.token(7);
        assert_eq!(token.len(), 7);
        assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn the_system_clock_is_after_2026() {
        assert!(SystemClock.now().epoch_millis() > 1_767_225_600_000);
    }
}
