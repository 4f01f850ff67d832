//! Smithy RPCv2 CBOR request bodies: any bytes, and valid bodies cut short or with one byte
//! changed, decode or are refused, never a panic or a stack overflow.

use proptest::prelude::*;
use sluice_api::cbor::decode_input;

use crate::config;

/// `{"name": "p", "tags": [{"key": "k"}], "n": 1}` in CBOR.
const BODY: &[u8] = &[
    0xa3, 0x64, b'n', b'a', b'm', b'e', 0x61, b'p', 0x64, b't', b'a', b'g', b's', 0x81, 0xa1, 0x63,
    b'k', b'e', b'y', 0x61, b'k', 0x61, b'n', 0x01,
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = decode_input(&bytes);
    }

    #[test]
    fn valid_bodies_changed_never_panic(at in 0..BODY.len(), byte in any::<u8>(), cut in 0..=BODY.len()) {
        let mut changed = BODY.to_vec();
        changed[at] = byte;
        let _ = decode_input(&changed);
        let _ = decode_input(&BODY[..cut]);
    }
}

#[test]
fn the_body_used_above_decodes() {
    let value = decode_input(BODY).expect("a map");
    assert_eq!(value["name"], "p");
}

/// 100,000 nested arrays (or indefinite-length maps) are refused, not a stack overflow.
#[test]
fn deep_nesting_is_refused() {
    let mut arrays = vec![0xa1, 0x61, b'a'];
    arrays.extend(std::iter::repeat_n(0x81, 100_000));
    arrays.push(0x01);
    assert!(decode_input(&arrays).is_err());
    let mut maps = vec![0xbf];
    for _ in 0..100_000 {
        maps.extend([0x61, b'a', 0xbf]);
    }
    assert!(decode_input(&maps).is_err());
}
