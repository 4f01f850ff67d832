//! Artifacts are zip files: what `zip_dir` stores and what `unzip` refuses.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use sluice_local::archive::{ArchiveError, EntryRule, unzip, zip_dir};
use zip::write::SimpleFileOptions;
use zip::{ZipArchive, ZipWriter};

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create the parent");
    fs::write(path, content).expect("write the file");
}

fn entry_names(zip: &Path) -> Vec<String> {
    let mut archive = ZipArchive::new(File::open(zip).expect("open")).expect("a zip");
    (0..archive.len())
        .map(|i| {
            archive
                .by_index(i)
                .expect("an entry")
                .name()
                .expect("a name")
                .into_owned()
        })
        .collect()
}

/// An archive written entry by entry, as a hostile or foreign tool might.
enum Entry<'a> {
    File(&'a str, &'a str),
    Link(&'a str, &'a str),
}

fn craft_zip(path: &Path, entries: &[Entry<'_>]) {
    let mut zip = ZipWriter::new(File::create(path).expect("create the zip"));
    for entry in entries {
        match entry {
            Entry::File(name, content) => {
                zip.start_file(*name, SimpleFileOptions::default())
                    .expect("start");
                zip.write_all(content.as_bytes()).expect("write");
            }
            Entry::Link(name, target) => {
                zip.add_symlink(*name, *target, SimpleFileOptions::default())
                    .expect("link");
            }
        }
    }
    zip.finish().expect("finish");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .into_iter()
        .map(|e| e.expect("an entry").path().to_path_buf())
        .collect()
}

#[test]
fn zip_dir_stores_every_file_under_its_relative_slash_path_sorted_by_name() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("app");
    write(&dir.join("src/main.rs"), "fn main() {}");
    write(&dir.join("b.txt"), "b");
    write(&dir.join("a-b.txt"), "a-b");
    write(&dir.join("a/deep/x.txt"), "x");
    let zip = tmp.path().join("out/app.zip");

    zip_dir(&dir, &zip).expect("zipped");

    assert_eq!(
        entry_names(&zip),
        ["a-b.txt", "a/deep/x.txt", "b.txt", "src/main.rs"]
    );
}

#[test]
fn zip_dir_gives_the_same_bytes_for_the_same_files_whatever_their_timestamps() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (one, two) = (tmp.path().join("one"), tmp.path().join("two"));
    for dir in [&one, &two] {
        write(&dir.join("z.txt"), "last");
        write(&dir.join("a/b.txt"), "first");
        fs::create_dir_all(dir.join("empty")).expect("mkdir");
    }
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    File::options()
        .write(true)
        .open(two.join("z.txt"))
        .expect("open")
        .set_modified(old)
        .expect("set mtime");

    zip_dir(&one, &tmp.path().join("one.zip")).expect("zipped");
    zip_dir(&two, &tmp.path().join("two.zip")).expect("zipped");

    let bytes = |name: &str| fs::read(tmp.path().join(name)).expect("read");
    assert_eq!(bytes("one.zip"), bytes("two.zip"));
    let mut archive =
        ZipArchive::new(File::open(tmp.path().join("one.zip")).expect("open")).expect("a zip");
    let entry = archive.by_name("z.txt").expect("z.txt");
    let modified = entry.last_modified().expect("a date");
    assert_eq!(
        (modified.year(), modified.month(), modified.day()),
        (1980, 1, 1)
    );
}

#[test]
fn executable_bits_survive_zip_dir_and_unzip() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("app");
    write(&dir.join("build.sh"), "#!/bin/sh\necho hi\n");
    write(&dir.join("README"), "read me");
    fs::set_permissions(dir.join("build.sh"), fs::Permissions::from_mode(0o755)).expect("chmod");
    fs::set_permissions(dir.join("README"), fs::Permissions::from_mode(0o644)).expect("chmod");
    let zip = tmp.path().join("app.zip");
    let out = tmp.path().join("out");

    zip_dir(&dir, &zip).expect("zipped");
    unzip(&zip, &out).expect("unzipped");

    let mode = |name: &str| {
        fs::metadata(out.join(name))
            .expect("meta")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("build.sh"), 0o755);
    assert_eq!(mode("README"), 0o644);
}

#[test]
fn empty_directories_are_kept_and_other_directories_are_implied_by_their_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("app");
    fs::create_dir_all(dir.join("logs/archive")).expect("mkdir");
    write(&dir.join("src/lib.rs"), "");
    let zip = tmp.path().join("app.zip");
    let out = tmp.path().join("out");

    zip_dir(&dir, &zip).expect("zipped");
    unzip(&zip, &out).expect("unzipped");

    assert_eq!(entry_names(&zip), ["logs/archive/", "src/lib.rs"]);
    assert!(out.join("logs/archive").is_dir());
}

#[test]
fn a_symbolic_link_is_stored_as_what_it_points_to_and_a_dangling_one_is_skipped() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("app");
    write(&dir.join("config/real.json"), "{}");
    symlink("config/real.json", dir.join("linked.json")).expect("link a file");
    symlink("config", dir.join("settings")).expect("link a directory");
    symlink("nowhere.txt", dir.join("dangling")).expect("dangling link");
    symlink("self", dir.join("self")).expect("a link to itself");
    let zip = tmp.path().join("app.zip");
    let out = tmp.path().join("out");

    zip_dir(&dir, &zip).expect("zipped");
    unzip(&zip, &out).expect("unzipped");

    assert_eq!(
        entry_names(&zip),
        ["config/real.json", "linked.json", "settings/real.json"]
    );
    let linked = fs::symlink_metadata(out.join("linked.json")).expect("meta");
    assert!(linked.is_file());
    assert_eq!(
        fs::read_to_string(out.join("linked.json")).expect("read"),
        "{}"
    );
}

#[test]
fn a_link_back_to_an_enclosing_directory_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("app");
    fs::create_dir_all(dir.join("a")).expect("mkdir");
    symlink("..", dir.join("a/up")).expect("loop");
    let zip = tmp.path().join("app.zip");

    let error = zip_dir(&dir, &zip).expect_err("a loop");

    assert!(matches!(&error, ArchiveError::SymlinkLoop { path, .. } if path.ends_with("a/up")));
    assert!(!zip.exists(), "no partial archive is left");
}

#[test]
fn an_archive_written_inside_its_own_directory_does_not_contain_itself() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(&tmp.path().join("file.txt"), "content");
    let zip = tmp.path().join("self.zip");

    zip_dir(tmp.path(), &zip).expect("zipped");

    assert_eq!(entry_names(&zip), ["file.txt"]);
}

#[test]
fn zip_dir_of_a_missing_directory_names_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let missing = tmp.path().join("missing");

    let error = zip_dir(&missing, &tmp.path().join("x.zip")).expect_err("missing");

    assert!(matches!(&error, ArchiveError::Read { path, .. } if *path == missing));
    assert!(error.to_string().contains("missing"));
}

#[test]
fn unzip_returns_every_entry_written_and_replaces_files_while_leaving_others() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip = tmp.path().join("a.zip");
    craft_zip(
        &zip,
        &[
            Entry::File("index.html", "new"),
            Entry::File("css/site.css", "body{}"),
        ],
    );
    let out = tmp.path().join("out");
    write(&out.join("index.html"), "old");
    write(&out.join("keep.txt"), "kept");

    let written = unzip(&zip, &out).expect("unzipped");

    assert_eq!(written, [out.join("index.html"), out.join("css/site.css")]);
    assert_eq!(
        fs::read_to_string(out.join("index.html")).expect("read"),
        "new"
    );
    assert_eq!(
        fs::read_to_string(out.join("keep.txt")).expect("read"),
        "kept"
    );
}

#[test]
fn unzip_refuses_an_absolute_entry_name_before_writing_anything() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip = tmp.path().join("evil.zip");
    craft_zip(
        &zip,
        &[
            Entry::File("fine.txt", "ok"),
            Entry::File("/tmp/evil.txt", "x"),
        ],
    );
    let out = tmp.path().join("out");

    let error = unzip(&zip, &out).expect_err("refused");

    assert!(matches!(
        &error,
        ArchiveError::UnsafeEntry { entry, rule: EntryRule::AbsoluteName, .. } if entry == "/tmp/evil.txt"
    ));
    let message = error.to_string();
    assert!(
        message.contains("/tmp/evil.txt") && message.contains("relative"),
        "{message}"
    );
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn unzip_refuses_any_parent_segment_even_one_that_stays_inside() {
    let tmp = tempfile::tempdir().expect("tmp");
    for name in [
        "../escape.txt",
        "a/../../escape.txt",
        "a/../b.txt",
        "a\\..\\..\\escape.txt",
    ] {
        let zip = tmp.path().join("evil.zip");
        craft_zip(&zip, &[Entry::File(name, "x")]);
        let out = tmp.path().join("out");

        let error = unzip(&zip, &out).expect_err(name);

        assert!(
            matches!(&error, ArchiveError::UnsafeEntry { entry, rule: EntryRule::ParentSegment, .. } if entry == name),
            "{name}: {error}"
        );
        assert!(error.to_string().contains("`..`"));
        assert!(!out.exists(), "{name}: nothing is written");
    }
    assert!(!tmp.path().join("escape.txt").exists());
}

#[test]
fn unzip_creates_a_symbolic_link_that_stays_inside_the_destination() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip = tmp.path().join("links.zip");
    craft_zip(
        &zip,
        &[
            Entry::File("lib/real.txt", "real"),
            Entry::Link("bin/current", "../lib/real.txt"),
        ],
    );
    let out = tmp.path().join("out");

    unzip(&zip, &out).expect("unzipped");

    let link = out.join("bin/current");
    assert!(
        fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_to_string(link).expect("read through"), "real");
}

#[test]
fn unzip_refuses_a_symbolic_link_pointing_outside_the_destination() {
    let tmp = tempfile::tempdir().expect("tmp");
    for target in ["/etc/passwd", "../../outside", "a/../../outside", "x/../.."] {
        let zip = tmp.path().join("evil.zip");
        craft_zip(
            &zip,
            &[Entry::File("ok.txt", "ok"), Entry::Link("dir/link", target)],
        );
        let out = tmp.path().join("out");

        let error = unzip(&zip, &out).expect_err(target);

        assert!(
            matches!(
                &error,
                ArchiveError::UnsafeEntry {
                    rule: EntryRule::LinkTargetOutside { .. },
                    ..
                }
            ),
            "{target}: {error}"
        );
        assert!(error.to_string().contains("dir/link"));
        assert!(!out.exists(), "{target}: nothing is written");
    }
}

#[test]
fn unzip_refuses_to_write_through_a_link_from_the_archive() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip = tmp.path().join("evil.zip");
    craft_zip(
        &zip,
        &[Entry::Link("a", "."), Entry::File("a/file.txt", "x")],
    );
    let out = tmp.path().join("out");

    let error = unzip(&zip, &out).expect_err("refused");

    assert!(matches!(
        &error,
        ArchiveError::UnsafeEntry { entry, rule: EntryRule::ThroughLink { .. }, .. } if entry == "a/file.txt"
    ));
    assert!(!out.exists(), "nothing is written");
}

#[test]
fn unzip_refuses_to_write_through_a_link_already_in_the_destination() {
    let tmp = tempfile::tempdir().expect("tmp");
    let outside = tmp.path().join("outside");
    fs::create_dir_all(&outside).expect("mkdir");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("mkdir");
    symlink(&outside, out.join("site")).expect("link");
    let zip = tmp.path().join("a.zip");
    craft_zip(
        &zip,
        &[
            Entry::File("first.txt", "1"),
            Entry::File("site/index.html", "x"),
        ],
    );

    let error = unzip(&zip, &out).expect_err("refused");

    assert!(matches!(
        &error,
        ArchiveError::UnsafeEntry {
            rule: EntryRule::ThroughLink { .. },
            ..
        }
    ));
    assert!(files_under(&outside).is_empty(), "nothing written outside");
    assert!(!out.join("first.txt").exists(), "nothing written at all");
}

#[test]
fn unzip_replaces_an_existing_link_at_an_entry_path_instead_of_writing_through_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let outside = tmp.path().join("outside.txt");
    write(&outside, "untouched");
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).expect("mkdir");
    symlink(&outside, out.join("index.html")).expect("link");
    let zip = tmp.path().join("a.zip");
    craft_zip(&zip, &[Entry::File("index.html", "new")]);

    unzip(&zip, &out).expect("unzipped");

    assert_eq!(fs::read_to_string(&outside).expect("read"), "untouched");
    assert!(
        fs::symlink_metadata(out.join("index.html"))
            .expect("meta")
            .is_file()
    );
}

#[test]
fn unzip_of_a_file_that_is_not_a_zip_names_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let not_zip = tmp.path().join("notes.txt");
    write(&not_zip, "just text");

    let error = unzip(&not_zip, &tmp.path().join("out")).expect_err("not a zip");

    assert!(matches!(&error, ArchiveError::ZipRead { path, .. } if *path == not_zip));
    assert!(error.to_string().contains("notes.txt"));
}

/// A zip of one entry whose unix mode (type and permission bits) is `mode`, as an archiver that
/// stores special files would write it.
fn zip_with_mode(path: &Path, name: &str, mode: u32) {
    let mut zip = ZipWriter::new(File::create(path).expect("create the zip"));
    let options = SimpleFileOptions::default()
        .system(zip::System::Unix)
        .external_attributes(mode << 16);
    zip.start_file(name, options).expect("start");
    zip.write_all(b"").expect("write");
    zip.finish().expect("finish");
}

#[test]
fn unzip_refuses_fifos_sockets_and_devices_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cases = [
        (0o010644, "FIFO"),
        (0o020644, "character device"),
        (0o060644, "block device"),
        (0o140644, "socket"),
        (0o170644, "file of unknown type"),
    ];
    for (mode, kind) in cases {
        let zip = tmp.path().join(format!("{mode:o}.zip"));
        zip_with_mode(&zip, "special", mode);
        let out = tmp.path().join(format!("out-{mode:o}"));

        let error = unzip(&zip, &out).expect_err("refused");

        assert!(
            matches!(&error, ArchiveError::UnsafeEntry { rule: EntryRule::SpecialFile { kind: k }, .. } if *k == kind),
            "{mode:o}: {error}"
        );
        assert!(error.to_string().contains(kind), "{error}");
        assert!(!out.exists(), "nothing is written for {kind}");
    }
    // A regular file's mode is extracted as before.
    let zip = tmp.path().join("regular.zip");
    zip_with_mode(&zip, "regular", 0o100755);
    unzip(&zip, &tmp.path().join("regular")).expect("a regular file");
}

#[test]
fn unzip_refuses_a_hard_link_named_by_the_pkware_unix_field() {
    let tmp = tempfile::tempdir().expect("tmp");
    let zip = tmp.path().join("hardlink.zip");
    // PKWARE's Unix field: atime, mtime, uid, gid, then the linked-to name. The zip writer only
    // adds fields its reader knows, so the field is written under a private tag and retagged.
    let mut field = vec![0u8; 12];
    field.extend_from_slice(b"/etc/passwd");
    {
        let mut writer = ZipWriter::new(File::create(&zip).expect("create"));
        let mut options = zip::write::FullFileOptions::default();
        options
            .add_extra_field(0x7a7a, &field, false)
            .expect("an extra field");
        writer.start_file("passwd", options).expect("start");
        writer.finish().expect("finish");
    }
    let mut bytes = fs::read(&zip).expect("read");
    let size = (field.len() as u16).to_le_bytes();
    let tag = [0x7a, 0x7a, size[0], size[1]];
    let mut retagged = 0;
    for at in 0..bytes.len() - 4 {
        if bytes[at..at + 4] == tag {
            bytes[at] = 0x0d;
            bytes[at + 1] = 0x00;
            retagged += 1;
        }
    }
    assert!(retagged >= 1, "the field is in the archive");
    fs::write(&zip, bytes).expect("write");
    let out = tmp.path().join("out");

    let error = unzip(&zip, &out).expect_err("refused");

    assert!(
        matches!(
            &error,
            ArchiveError::UnsafeEntry {
                rule: EntryRule::HardLink,
                ..
            }
        ),
        "{error}"
    );
    assert!(!out.exists(), "nothing is written");
}
