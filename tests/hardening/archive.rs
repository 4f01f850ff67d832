//! Archives (input artifacts, S3 deploys with Extract, S3 source objects): any bytes and valid zips
//! with bytes changed are extracted or refused, never a panic, and nothing lands outside the
//! destination.

use std::io::Write;

use proptest::prelude::*;
use sluice_local::archive::unzip;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use crate::config;

fn valid_zip() -> Vec<u8> {
    let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    zip.start_file("app/index.html", SimpleFileOptions::default())
        .unwrap();
    zip.write_all(b"<h1>hi</h1>").unwrap();
    zip.add_symlink("app/current", "index.html", SimpleFileOptions::default())
        .unwrap();
    zip.add_directory("app/empty", SimpleFileOptions::default())
        .unwrap();
    zip.finish().unwrap().into_inner()
}

/// Extracts `bytes` below a fresh destination inside a fresh folder; nothing may appear beside it.
fn extract(bytes: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let zip = tmp.path().join("in.zip");
    std::fs::write(&zip, bytes).unwrap();
    let dest = tmp.path().join("dest");
    let _ = unzip(&zip, &dest);
    let mut beside: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    beside.sort();
    assert!(
        beside.iter().all(|n| n == "in.zip" || n == "dest"),
        "{beside:?}"
    );
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        extract(&bytes);
    }

    #[test]
    fn valid_zips_changed_never_panic_nor_escape(
        changes in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = valid_zip();
        for (at, byte) in changes {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        extract(&bytes);
    }
}
