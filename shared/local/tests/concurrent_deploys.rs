//! Deploys with Extract=true into one bucket, side by side, cannot make a way out of it: the race
//! in which one archive's link is created under another's directory path between that archive's
//! check and its write. Archive A makes `P/l`, a link up to the bucket's root (inside, by its own
//! depth); archives B (and C) write a link `P/l/e` climbing to the bucket's root by their depth too,
//! which written through A's link would land at the bucket's root and climb out of it. Each race is
//! run many times, at several depths and sizes, with the deploy lock and without it (the guard alone).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Barrier};

use sluice_local::archive;
use sluice_local::s3_folder::S3Folder;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

const ROUNDS: usize = 50;

/// Writes a zip of `padding` files of `size` bytes, then a link entry `name` → `target`.
fn racing_zip(path: &Path, padding: usize, size: usize, name: &str, target: &str) {
    let mut zip = ZipWriter::new(File::create(path).expect("create the zip"));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let bytes = vec![b'x'; size];
    for i in 0..padding {
        zip.start_file(format!("pad-{name}-{i}.bin").replace('/', "_"), stored)
            .expect("start");
        zip.write_all(&bytes).expect("write");
    }
    zip.add_symlink(name, target, SimpleFileOptions::default())
        .expect("link");
    zip.finish().expect("finish");
}

/// The racing archives for a directory path `P` of `depth` segments: A's link and then one
/// follower per extra writer.
fn racing_zips(dir: &Path, depth: usize, size: usize, writers: usize) -> Vec<PathBuf> {
    let prefix: Vec<String> = (0..depth).map(|i| format!("d{i}")).collect();
    let prefix = prefix.join("/");
    let a = dir.join("a.zip");
    racing_zip(&a, 1, size, &format!("{prefix}/l"), &"../".repeat(depth));
    let mut zips = vec![a];
    for w in 1..writers {
        let zip = dir.join(format!("follower-{w}.zip"));
        let name = format!("{prefix}/l/e{w}");
        racing_zip(&zip, 3 + w, size, &name, &"../".repeat(depth + 1));
        zips.push(zip);
    }
    zips
}

/// `path` with `.` and `..` resolved by their names (a link's target is read this way by the
/// kernel once its parent is known).
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Every symbolic link under `bucket` resolves inside it.
fn assert_links_stay_inside(bucket: &Path, round: usize) {
    let bucket = fs::canonicalize(bucket).expect("the bucket exists");
    for entry in walkdir::WalkDir::new(&bucket).min_depth(1) {
        let entry = entry.expect("an entry");
        if !entry.path_is_symlink() {
            continue;
        }
        let parent = fs::canonicalize(entry.path().parent().expect("a parent")).expect("parent");
        let target = fs::read_link(entry.path()).expect("a link");
        let resolved = lexical(&parent.join(&target));
        assert!(
            resolved.starts_with(&bucket),
            "round {round}: {} → {} resolves to {}, outside {}",
            entry.path().display(),
            target.display(),
            resolved.display(),
            bucket.display()
        );
    }
}

/// Extracts the archives side by side into one bucket, by `deploy` (with its lock) or straight
/// through `unzip` (the guard alone), `ROUNDS` times, each time in a fresh data directory.
fn race(depth: usize, size: usize, writers: usize, locked: bool) {
    let tmp = tempfile::tempdir().expect("tmp");
    let zips = racing_zips(tmp.path(), depth, size, writers);
    let mut refused = 0;
    for round in 0..ROUNDS {
        let data = tmp.path().join(format!("data-{round}"));
        let folder = S3Folder::new(&data);
        let bucket = folder.root().join("website");
        fs::create_dir_all(&bucket).expect("the bucket");
        let barrier = Arc::new(Barrier::new(writers));
        let handles: Vec<_> = zips
            .iter()
            .map(|zip| {
                let (zip, folder, bucket, barrier) =
                    (zip.clone(), folder.clone(), bucket.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    if locked {
                        folder.deploy("website", None, true, &zip).map(|_| ())
                    } else {
                        archive::unzip(&zip, &bucket)
                            .map(|_| ())
                            .map_err(Into::into)
                    }
                })
            })
            .collect();
        for handle in handles {
            // A follower meeting A's link is refused: that is the guard at work, not a failure.
            if handle.join().expect("no panic").is_err() {
                refused += 1;
            }
        }
        assert_links_stay_inside(&bucket, round);
        // A later deploy of one object through the followers' link names stays in the bucket too.
        let object = tmp.path().join("object.zip");
        fs::write(&object, b"object").expect("an object");
        for w in 1..writers {
            let key = format!("e{w}/escaped-{round}.txt");
            let _ = folder.deploy("website", Some(&key), false, &object);
            if let Ok(path) = fs::canonicalize(bucket.join(&key)) {
                assert!(
                    path.starts_with(fs::canonicalize(&bucket).expect("bucket")),
                    "round {round}: {key} was written at {}",
                    path.display()
                );
            }
        }
        fs::remove_dir_all(&data).expect("clean up");
    }
    eprintln!("depth {depth}, {size} B, {writers} writers, locked {locked}: {refused} refused");
}

#[test]
fn two_deploys_side_by_side_stay_in_the_bucket() {
    race(1, 256 * 1024, 2, true);
}

#[test]
fn deep_archives_of_large_files_side_by_side_stay_in_the_bucket() {
    race(6, 64 * 1024, 2, true);
}

#[test]
fn three_deploys_side_by_side_stay_in_the_bucket() {
    race(3, 128 * 1024, 3, true);
}

#[test]
fn extractions_side_by_side_without_the_lock_stay_in_the_bucket() {
    race(1, 256 * 1024, 2, false);
    race(6, 64 * 1024, 3, false);
}
