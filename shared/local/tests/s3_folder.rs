//! An S3 bucket is a folder: `<data_dir>/s3/<BucketName>/<ObjectKey>`.

use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use sluice_local::s3_folder::{NameField, NameRule, S3Folder, S3FolderError};
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

fn write(path: &Path, content: &str) {
    fs::create_dir_all(path.parent().expect("a parent")).expect("create the parent");
    fs::write(path, content).expect("write the file");
}

fn craft_zip(path: &Path, files: &[(&str, &str)]) {
    let mut zip = ZipWriter::new(File::create(path).expect("create the zip"));
    for (name, content) in files {
        zip.start_file(*name, SimpleFileOptions::default())
            .expect("start");
        zip.write_all(content.as_bytes()).expect("write");
    }
    zip.finish().expect("finish");
}

#[test]
fn an_object_is_the_file_at_its_key_under_the_bucket_folder() {
    let folder = S3Folder::new(Path::new("/data"));

    let path = folder
        .object_path("my-bucket", "releases/v1/app.zip")
        .expect("valid");

    assert_eq!(path, Path::new("/data/s3/my-bucket/releases/v1/app.zip"));
    assert_eq!(folder.root(), Path::new("/data/s3"));
}

#[test]
fn bucket_names_follow_s3_naming_rules_and_errors_name_the_field_and_rule() {
    let folder = S3Folder::new(Path::new("/data"));
    let long = "a".repeat(64);
    let cases = [
        ("ab", NameRule::BucketLength),
        (long.as_str(), NameRule::BucketLength),
        ("My-Bucket", NameRule::BucketCharacters),
        ("my_bucket", NameRule::BucketCharacters),
        ("my/bucket", NameRule::BucketCharacters),
        ("-bucket", NameRule::BucketEnds),
        ("bucket.", NameRule::BucketEnds),
        ("my..bucket", NameRule::BucketAdjacentPeriods),
        ("192.168.5.4", NameRule::BucketIpAddress),
        ("xn--bucket", NameRule::BucketReserved { affix: "xn--" }),
        (
            "bucket-s3alias",
            NameRule::BucketReserved { affix: "-s3alias" },
        ),
    ];
    for (bucket, expected) in cases {
        let error = folder.object_path(bucket, "key").expect_err(bucket);

        let S3FolderError::InvalidName { field, value, rule } = &error else {
            panic!("{bucket}: {error}");
        };
        assert_eq!(
            (*field, value.as_str(), rule),
            (NameField::BucketName, bucket, &expected)
        );
        let message = error.to_string();
        assert!(
            message.starts_with("BucketName") && message.contains("bucket name must"),
            "{message}"
        );
    }
    for bucket in ["abc", "my.site-2024", &"a".repeat(63)] {
        folder.object_path(bucket, "key").expect(bucket);
    }
}

#[test]
fn object_keys_that_could_leave_the_bucket_folder_are_refused() {
    let folder = S3Folder::new(Path::new("/data"));
    let long = "k".repeat(1025);
    let cases = [
        ("", NameRule::KeyEmpty),
        (long.as_str(), NameRule::KeyTooLong),
        ("/etc/passwd", NameRule::KeyAbsolute),
        ("a\0b", NameRule::KeyNul),
        ("../other-bucket/x", NameRule::KeyDotSegment),
        ("a/../../x", NameRule::KeyDotSegment),
        ("a/./b", NameRule::KeyDotSegment),
        ("a//b", NameRule::KeyEmptySegment),
    ];
    for (key, expected) in cases {
        let error = folder.object_path("bucket", key).expect_err(key);

        assert!(
            matches!(&error, S3FolderError::InvalidName { field: NameField::ObjectKey, rule, .. } if *rule == expected),
            "{key:?}: {error}"
        );
        assert!(error.to_string().starts_with("ObjectKey"));
    }
    folder.object_path("bucket", "site/").expect("a folder key");
}

#[test]
fn a_source_file_object_is_copied_as_the_artifact_with_digests_as_its_revision() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    write(&tmp.path().join("s3/sources/app.zip"), "hello");
    let dest = tmp.path().join("work/object.zip");

    let revision = folder
        .read_source("sources", "app.zip", &dest)
        .expect("read");

    assert_eq!(fs::read_to_string(&dest).expect("read"), "hello");
    assert_eq!(revision.etag, "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(
        revision.version_id,
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_eq!(revision.zip, dest);
}

#[test]
fn a_source_directory_object_is_zipped_and_the_same_files_give_the_same_revision() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    write(&tmp.path().join("s3/sources/app/index.html"), "<h1>hi</h1>");
    write(&tmp.path().join("s3/sources/app/css/site.css"), "body{}");

    let first = folder
        .read_source("sources", "app", &tmp.path().join("1.zip"))
        .expect("read");
    let second = folder
        .read_source("sources", "app/", &tmp.path().join("2.zip"))
        .expect("read");

    let out = tmp.path().join("out");
    sluice_local::archive::unzip(&first.zip, &out).expect("a zip");
    assert_eq!(
        fs::read_to_string(out.join("css/site.css")).expect("read"),
        "body{}"
    );
    assert_eq!(first.version_id, second.version_id);
    assert_eq!(first.etag, second.etag);
}

#[test]
fn a_missing_source_object_names_bucket_key_and_path_and_says_where_to_put_it() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let expected_path = tmp.path().join("s3/sources/app.zip");

    let error = folder
        .read_source("sources", "app.zip", &tmp.path().join("x.zip"))
        .expect_err("missing");

    assert!(matches!(&error, S3FolderError::MissingObject { path, .. } if *path == expected_path));
    let message = error.to_string();
    assert!(message.contains("s3://sources/app.zip"), "{message}");
    assert!(
        message.contains(&format!("Put the file at {}", expected_path.display())),
        "{message}"
    );
}

#[test]
fn source_name_errors_name_the_source_action_fields() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let dest = tmp.path().join("x.zip");

    let bucket = folder
        .read_source("Bad_Bucket", "k", &dest)
        .expect_err("bad bucket");
    let key = folder
        .read_source("bucket", "../k", &dest)
        .expect_err("bad key");

    assert!(
        bucket.to_string().starts_with("S3Bucket `Bad_Bucket`"),
        "{bucket}"
    );
    assert!(key.to_string().starts_with("S3ObjectKey `../k`"), "{key}");
}

#[test]
fn deploy_with_extract_unzips_into_the_bucket_replacing_files_and_leaving_others() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let bucket = tmp.path().join("s3/website");
    write(&bucket.join("index.html"), "old");
    write(&bucket.join("robots.txt"), "kept");
    let artifact = tmp.path().join("artifact.zip");
    craft_zip(
        &artifact,
        &[("index.html", "new"), ("css/site.css", "body{}")],
    );

    let written = folder
        .deploy("website", None, true, &artifact)
        .expect("deployed");

    assert_eq!(
        written,
        [bucket.join("index.html"), bucket.join("css/site.css")]
    );
    assert_eq!(
        fs::read_to_string(bucket.join("index.html")).expect("read"),
        "new"
    );
    assert_eq!(
        fs::read_to_string(bucket.join("robots.txt")).expect("read"),
        "kept"
    );
}

#[test]
fn deploy_with_extract_and_an_object_key_puts_the_files_under_that_prefix() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let artifact = tmp.path().join("artifact.zip");
    craft_zip(&artifact, &[("index.html", "v2")]);

    let written = folder
        .deploy("website", Some("releases/v2"), true, &artifact)
        .expect("deployed");

    let expected = tmp.path().join("s3/website/releases/v2/index.html");
    assert_eq!(written, std::slice::from_ref(&expected));
    assert_eq!(fs::read_to_string(expected).expect("read"), "v2");
}

#[test]
fn deploy_without_extract_writes_the_artifact_as_the_single_object_at_its_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let artifact = tmp.path().join("artifact.zip");
    craft_zip(&artifact, &[("index.html", "v2")]);

    let written = folder
        .deploy("builds", Some("app/v2.zip"), false, &artifact)
        .expect("deployed");

    let object = tmp.path().join("s3/builds/app/v2.zip");
    assert_eq!(written, std::slice::from_ref(&object));
    assert_eq!(
        fs::read(object).expect("read"),
        fs::read(artifact).expect("read")
    );
}

#[test]
fn deploy_without_extract_requires_an_object_key() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let artifact = tmp.path().join("artifact.zip");
    craft_zip(&artifact, &[("index.html", "v2")]);

    let error = folder
        .deploy("builds", None, false, &artifact)
        .expect_err("no key");

    assert!(matches!(error, S3FolderError::MissingObjectKey));
    assert!(
        error
            .to_string()
            .contains("ObjectKey is required when Extract is false")
    );
    assert!(!tmp.path().join("s3").exists(), "nothing is written");
}

#[test]
fn deploy_refuses_an_artifact_with_traversing_entries_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let artifact = tmp.path().join("artifact.zip");
    craft_zip(
        &artifact,
        &[("index.html", "fine"), ("../other-bucket/pwned.txt", "x")],
    );

    let error = folder
        .deploy("website", None, true, &artifact)
        .expect_err("refused");

    let message = error.to_string();
    assert!(
        message.contains("../other-bucket/pwned.txt") && message.contains("`..`"),
        "{message}"
    );
    assert!(!tmp.path().join("s3").exists(), "nothing is written");
}

#[test]
fn deploy_refuses_an_object_key_that_leaves_the_bucket_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let folder = S3Folder::new(tmp.path());
    let artifact = tmp.path().join("artifact.zip");
    craft_zip(&artifact, &[("index.html", "fine")]);

    for extract in [true, false] {
        let error = folder
            .deploy("website", Some("../../escape"), extract, &artifact)
            .expect_err("refused");

        assert!(
            matches!(
                &error,
                S3FolderError::InvalidName {
                    field: NameField::ObjectKey,
                    ..
                }
            ),
            "{error}"
        );
    }
    assert!(!tmp.path().join("s3").exists(), "nothing is written");
    assert!(!tmp.path().join("escape").exists());
}
