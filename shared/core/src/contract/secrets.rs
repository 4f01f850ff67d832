//! The contract every [`Secrets`] adapter keeps: put creates or replaces, get reads back byte for byte
//! (`None` when missing), delete removes (a missing secret too), and a bad name or value is refused with an
//! error naming it and changes nothing.

use crate::port::{MAX_VALUE_BYTES, SecretError, SecretValue, Secrets};

/// Runs every promise of the Secrets port against `secrets`, which must start empty.
pub async fn secrets_contract(secrets: &impl Secrets) {
    put_get_replace_delete(secrets).await;
    values_round_trip_byte_for_byte(secrets).await;
    bad_names_and_values_change_nothing(secrets).await;
    names_are_kept_apart(secrets).await;
    values_never_show_in_debug_output(secrets).await;
}

async fn read(secrets: &impl Secrets, name: &str) -> Option<Vec<u8>> {
    secrets
        .secret(name)
        .await
        .unwrap_or_else(|e| panic!("reading {name}: {e}"))
        .map(|v| v.expose().to_vec())
}

async fn put_get_replace_delete(secrets: &impl Secrets) {
    let name = "webhook/Pipeline-Source";
    assert_eq!(read(secrets, name).await, None, "a missing secret is None");
    secrets
        .put_secret(name, &SecretValue::from("first"))
        .await
        .unwrap();
    assert_eq!(read(secrets, name).await.as_deref(), Some(&b"first"[..]));
    secrets
        .put_secret(name, &SecretValue::from("first"))
        .await
        .expect("putting the same value again is fine");
    secrets
        .put_secret(name, &SecretValue::from("second"))
        .await
        .expect("put replaces an existing secret");
    assert_eq!(
        read(secrets, name).await.as_deref(),
        Some(&b"second"[..]),
        "the replaced value is read back"
    );
    secrets.delete_secret(name).await.unwrap();
    assert_eq!(read(secrets, name).await, None, "a deleted secret is gone");
    secrets
        .delete_secret(name)
        .await
        .expect("deleting a missing secret is not an error");
    secrets
        .put_secret(name, &SecretValue::from("third"))
        .await
        .expect("a deleted name can be used again");
    assert_eq!(read(secrets, name).await.as_deref(), Some(&b"third"[..]));
    secrets.delete_secret(name).await.unwrap();
}

async fn values_round_trip_byte_for_byte(secrets: &impl Secrets) {
    let binary: Vec<u8> = (0..=255u8).rev().chain([0, 0, 0xff]).collect();
    let cases: [(&str, Vec<u8>); 5] = [
        ("text", "s3cr3t with spaces, \"quotes\" and \\".into()),
        ("unicode", "Grüße → 秘密 🔑\n\ttrailing  ".into()),
        ("binary", binary),
        ("one-byte", vec![0]),
        (
            "largest",
            (0..MAX_VALUE_BYTES).map(|i| (i % 251) as u8).collect(),
        ),
    ];
    for (name, bytes) in &cases {
        secrets
            .put_secret(name, &SecretValue::new(bytes.clone()))
            .await
            .unwrap_or_else(|e| panic!("putting {name}: {e}"));
    }
    for (name, bytes) in &cases {
        assert!(
            read(secrets, name).await.as_ref() == Some(bytes),
            "{name} comes back byte for byte"
        );
    }
    // Text written over binary and binary over text (Secrets Manager keeps them in different fields).
    secrets
        .put_secret("binary", &SecretValue::from("now text"))
        .await
        .unwrap();
    secrets
        .put_secret("text", &SecretValue::new(vec![0xc3, 0x28]))
        .await
        .unwrap();
    assert_eq!(
        read(secrets, "binary").await.as_deref(),
        Some(&b"now text"[..])
    );
    assert_eq!(
        read(secrets, "text").await.as_deref(),
        Some(&[0xc3, 0x28][..])
    );
    for (name, _) in &cases {
        secrets.delete_secret(name).await.unwrap();
    }
}

async fn bad_names_and_values_change_nothing(secrets: &impl Secrets) {
    let long = "n".repeat(513);
    for bad in [
        "",
        "has space",
        "colon:name",
        "ümlaut",
        "new\nline",
        long.as_str(),
    ] {
        match secrets.put_secret(bad, &SecretValue::from("v")).await {
            Err(SecretError::Invalid { field: "name", .. }) => {}
            other => panic!("putting {bad:?} is refused naming the name, got {other:?}"),
        }
        match secrets.secret(bad).await {
            Err(SecretError::Invalid { field: "name", .. }) => {}
            other => panic!("reading {bad:?} is refused naming the name, got {other:?}"),
        }
        match secrets.delete_secret(bad).await {
            Err(SecretError::Invalid { field: "name", .. }) => {}
            other => panic!("deleting {bad:?} is refused naming the name, got {other:?}"),
        }
    }
    let name = "signing/key";
    secrets
        .put_secret(name, &SecretValue::from("kept"))
        .await
        .unwrap();
    for (what, bad) in [
        ("an empty value", Vec::new()),
        ("a value over 64 KiB", vec![1; MAX_VALUE_BYTES + 1]),
    ] {
        match secrets.put_secret(name, &SecretValue::new(bad)).await {
            Err(SecretError::Invalid { field: "value", .. }) => {}
            other => panic!("{what} is refused naming the value, got {other:?}"),
        }
    }
    assert_eq!(
        read(secrets, name).await.as_deref(),
        Some(&b"kept"[..]),
        "a refused put leaves the secret as it was"
    );
    secrets.delete_secret(name).await.unwrap();
}

async fn names_are_kept_apart(secrets: &impl Secrets) {
    // Names that a careless mapping to files or keys would merge.
    let names = [
        "a/b", "a_b", "a-b", "a.b", "a+b", "a=b", "a@b", "A/B", ".", "..", "a/../b", "a//b",
    ];
    for (i, name) in names.iter().enumerate() {
        secrets
            .put_secret(name, &SecretValue::from(format!("value {i}")))
            .await
            .unwrap_or_else(|e| panic!("putting {name}: {e}"));
    }
    let longest = "x/".repeat(256);
    secrets
        .put_secret(&longest, &SecretValue::from("longest"))
        .await
        .unwrap();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            read(secrets, name).await,
            Some(format!("value {i}").into_bytes()),
            "{name} holds its own value"
        );
    }
    assert_eq!(
        read(secrets, &longest).await.as_deref(),
        Some(&b"longest"[..]),
        "a 512-character name works"
    );
    for name in names.iter().copied().chain([longest.as_str()]) {
        secrets.delete_secret(name).await.unwrap();
        assert_eq!(read(secrets, name).await, None, "{name} is deleted");
    }
}

async fn values_never_show_in_debug_output(secrets: &impl Secrets) {
    let name = "webhook/debug";
    let plain = "correct-horse-battery-staple";
    secrets
        .put_secret(name, &SecretValue::from(plain))
        .await
        .unwrap();
    let read = secrets.secret(name).await.unwrap();
    let shown = format!("{read:?} {read:#?}");
    assert!(
        !shown.contains(plain) && !shown.contains("correct"),
        "Debug output shows no part of the value: {shown}"
    );
    let value = read.expect("the secret exists");
    assert!(!format!("{value}").contains(plain), "nor does Display");
    assert_eq!(value.expose_str(), Some(plain), "only expose does");
    secrets.delete_secret(name).await.unwrap();
}
