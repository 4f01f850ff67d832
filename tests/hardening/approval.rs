//! The approval page's inputs (anyone who can reach the server can send them): link tokens, posted
//! forms and the public URL are read or refused, never a panic, and no altered link verifies.

use proptest::prelude::*;
use sluice_api::approval::form_fields;
use sluice_core::approval::link::{
    ApprovalAttempt, ApprovalKey, PublicUrl, check_form_token, sign, verify,
};
use sluice_core::time::Timestamp;

use crate::{config, text_from};

fn key() -> ApprovalKey {
    ApprovalKey::new(vec![42; 32]).unwrap()
}

fn signed() -> String {
    sign(
        &key(),
        &ApprovalAttempt {
            pipeline: "P",
            stage: "S",
            action: "A",
            execution_id: "0b5f4c2e-7d1a-4e8b-9c3d-2a1b0c9d8e7f",
            token: "1a2b3c4d-573f-4ea7-a67e-000000000000",
        },
        Timestamp::from_epoch_millis(1_767_225_600_000),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_link_token_is_refused_unless_it_is_the_signed_one(
        link in text_from("0123456789abcdef-.", 200),
    ) {
        let verdict = verify(&key(), "P", "S", "A", &link);
        prop_assert_eq!(verdict.is_ok(), link == signed(), "{}", link);
    }

    #[test]
    fn a_signed_link_changed_anywhere_is_refused(
        at in any::<prop::sample::Index>(),
        with in proptest::char::range('-', 'f'),
    ) {
        let link = signed();
        let mut chars: Vec<char> = link.chars().collect();
        let at = at.index(chars.len());
        prop_assume!(chars[at] != with);
        chars[at] = with;
        let changed: String = chars.into_iter().collect();
        prop_assert!(verify(&key(), "P", "S", "A", &changed).is_err(), "{}", changed);
    }

    #[test]
    fn any_form_body_is_read_or_refused(
        body in proptest::collection::vec(any::<u8>(), 0..300),
        text in text_from("decisionsummarynameform_token=&+%0123456789ABCDEF", 200),
    ) {
        for input in [body.as_slice(), text.as_bytes()] {
            if let Ok(fields) = form_fields(input) {
                for name in ["decision", "summary", "name", "nonce", "form_token"] {
                    let _ = fields.get(name);
                }
            }
        }
        let _ = check_form_token(&key(), &signed(), Some(&text), Some(&text));
    }

    #[test]
    fn any_public_url_is_taken_whole_or_refused(
        url in text_from("htps:/[]@?#:.0123456789abcdefx-%", 80),
    ) {
        for text in [url.clone(), format!("https://{url}"), format!("http://h{url}")] {
            if let Ok(parsed) = PublicUrl::parse(&text) {
                prop_assert!(!parsed.as_str().contains(['?', '#']), "{}", text);
                prop_assert!(parsed.as_str().starts_with(parsed.origin()));
                prop_assert!(text.starts_with(parsed.as_str()));
            }
        }
    }
}
