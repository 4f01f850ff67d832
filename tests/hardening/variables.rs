//! Variable references (`#{namespace.name}`) in action configurations never panic.

use proptest::prelude::*;
use sluice_core::variable;

use crate::{config, text_from};

proptest! {
    #![proptest_config(config())]

    #[test]
    fn references_never_panic(text in text_from("#{}.$abcXYZ_09-\\", 64)) {
        let _ = variable::contains_reference(&text);
        let _ = variable::references(&text);
    }
}
