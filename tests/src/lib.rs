//! Suites that span Sluice's crates. The code is in `hardening/` (a test target); this library holds
//! what its modules share.

/// How many generated inputs each property of the hardening suite tries: `SLUICE_HARDENING_CASES`, or
/// 256. CI runs the default; a longer hunt sets it higher.
pub fn cases() -> u32 {
    std::env::var("SLUICE_HARDENING_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(256)
}
