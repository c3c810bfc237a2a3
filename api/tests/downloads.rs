//! `/api/downloads` on a real downloads folder: bundles listed newest first, a file and a whole
//! bundle served, names that could leave the folder refused, deleting for admins only.

mod support;

use axum::http::{Method, StatusCode};

const REGISTRIES: &str = "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n";

/// The api serving `downloads`, with `more` of its flags (a quota, a free-space floor).
async fn app_over(downloads: &std::path::Path, more: &[&str]) -> support::App {
    let mut args = vec!["--downloads", downloads.to_str().unwrap()];
    args.extend_from_slice(more);
    support::app(REGISTRIES, &args).await
}

/// A folder holding an old bundle of 512 KiB, for the quota tests.
fn downloads_holding_half_a_mebibyte() -> tempfile::TempDir {
    let downloads = tempfile::tempdir().unwrap();
    std::fs::create_dir(downloads.path().join("old")).unwrap();
    std::fs::write(downloads.path().join("old/a.tar"), vec![0u8; 512 << 10]).unwrap();
    downloads
}

#[tokio::test]
async fn bundles_are_listed_served_whole_or_by_file_and_deleted_by_admins() {
    let downloads = tempfile::tempdir().unwrap();
    let bundle = downloads.path().join("job-1");
    std::fs::create_dir(&bundle).unwrap();
    std::fs::write(bundle.join("a.oci.tar"), "layer bytes").unwrap();
    std::fs::write(bundle.join("push.sh"), "#!/bin/sh\n").unwrap();
    // Outside the downloads folder: nothing may reach it.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "no").unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret"), bundle.join("link")).unwrap();

    let app = app_over(downloads.path(), &[]).await;
    let (view, op, boss) = (
        app.login("view").await,
        app.login("op").await,
        app.login("boss").await,
    );

    let listed = app.get("/api/downloads", &view).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body[0]["id"], "job-1");
    assert_eq!(listed.body[0]["size"], 11 + 10);
    let names: Vec<&str> = listed.body[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["a.oci.tar", "push.sh"],
        "the symlink is no file of the bundle"
    );

    let file = app.get("/api/downloads/job-1/files/a.oci.tar", &op).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.text, "layer bytes");
    assert_eq!(file.headers["content-length"], "11");
    assert_eq!(
        file.headers["content-disposition"],
        "attachment; filename=\"a.oci.tar\""
    );
    assert_eq!(
        app.get("/api/downloads/job-1/files/a.oci.tar", &view)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    for (path, status) in [
        ("/api/downloads/job-1/files/link", StatusCode::NOT_FOUND),
        (
            "/api/downloads/job-1/files/..%2F..%2Fetc%2Fpasswd",
            StatusCode::BAD_REQUEST,
        ),
        ("/api/downloads/..%2F/files/secret", StatusCode::BAD_REQUEST),
        (
            "/api/downloads/job-1/files/.hidden",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/api/downloads/job-2/files/a.oci.tar",
            StatusCode::NOT_FOUND,
        ),
    ] {
        let r = app.get(path, &op).await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
    }

    let whole = app.get("/api/downloads/job-1/archive", &op).await;
    assert_eq!(whole.status, StatusCode::OK);
    let mut archive = tar::Archive::new(whole.text.as_bytes());
    let entries: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(entries, ["job-1/a.oci.tar", "job-1/push.sh"]);

    assert_eq!(
        app.delete("/api/downloads/job-1", &op).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.delete("/api/downloads/job-1", &boss).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(!bundle.exists());
    assert!(outside.path().join("secret").exists());
    assert_eq!(
        app.delete("/api/downloads/job-1", &boss).await.status,
        StatusCode::NOT_FOUND
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A bundle folder as an export leaves it: an archive of `size` bytes, its manifest, push.sh.
fn write_bundle(dir: &std::path::Path, size: usize) -> Vec<(String, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).unwrap();
    let archive: Vec<u8> = (0..size).map(|i| (i * 7 % 253) as u8).collect();
    let manifest = serde_json::json!({
        "version": 1, "job": "job-1", "created_at_ms": 1, "format": "oci-archive",
        "images": [{
            "source": "docker.io/library/a:1", "target": "library/a:1", "digest": "sha256:00",
            "file": "a.oci.tar", "size": archive.len(), "sha256": sha256_hex(&archive),
        }],
    })
    .to_string()
    .into_bytes();
    let files = vec![
        ("a.oci.tar".to_owned(), archive),
        ("manifest.json".to_owned(), manifest),
        ("push.sh".to_owned(), b"#!/bin/sh\necho push\n".to_vec()),
    ];
    for (name, content) in &files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    std::fs::set_permissions(dir.join("push.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    files
}

#[tokio::test]
async fn a_bundle_downloads_as_a_zip_that_unzip_checks_and_whose_files_are_the_same_bytes() {
    let downloads = tempfile::tempdir().unwrap();
    // Past the 256 KiB pipe a few times over: the zip is written while it is read.
    let files = write_bundle(&downloads.path().join("job-1"), 1 << 20);
    let app = app_over(downloads.path(), &[]).await;
    let op = app.login("op").await;

    let zip = app
        .get("/api/downloads/job-1/archive?format=zip", &op)
        .await;
    assert_eq!(zip.status, StatusCode::OK, "{}", zip.text);
    assert_eq!(zip.headers["content-type"], "application/zip");
    assert_eq!(
        zip.headers["content-disposition"],
        "attachment; filename=\"job-1.zip\""
    );
    // Debian's unzip, an implementation of its own, tests every entry's CRC.
    let saved = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(saved.path(), &zip.bytes).unwrap();
    let tested = std::process::Command::new("unzip")
        .arg("-t")
        .arg(saved.path())
        .output()
        .expect("unzip is installed (.ci/run)");
    let said = String::from_utf8_lossy(&tested.stdout);
    assert!(tested.status.success(), "{said}");
    assert!(said.contains("No errors detected"), "{said}");

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip.bytes.to_vec())).unwrap();
    assert_eq!(archive.len(), files.len());
    for (i, (name, content)) in files.iter().enumerate() {
        let mut entry = archive.by_index(i).unwrap();
        assert_eq!(entry.name().unwrap(), format!("job-1/{name}"));
        assert_eq!(entry.compression(), zip::CompressionMethod::Stored);
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut got).unwrap();
        assert_eq!(sha256_hex(&got), sha256_hex(content), "{name}");
    }
    let script = archive.by_name("job-1/push.sh").unwrap();
    assert_eq!(script.unix_mode().unwrap() & 0o777, 0o755);
    drop(script);

    let tar = app
        .get("/api/downloads/job-1/archive?format=tar", &op)
        .await;
    assert_eq!(tar.status, StatusCode::OK);
    assert_eq!(tar.headers["content-type"], "application/x-tar");
    let bad = app
        .get("/api/downloads/job-1/archive?format=rar", &op)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["error"], "format \"rar\" is not one of tar, zip");
}

const TAR: (axum::http::HeaderName, &str) = (axum::http::header::CONTENT_TYPE, "application/x-tar");

#[tokio::test]
async fn a_downloaded_tar_uploads_back_as_a_new_bundle_past_the_json_body_limit() {
    let downloads = tempfile::tempdir().unwrap();
    // 3 MiB: more than the 2 MiB every other request may send.
    let files = write_bundle(&downloads.path().join("job-1"), 3 << 20);
    let app = app_over(downloads.path(), &[]).await;
    let (view, op, boss) = (
        app.login("view").await,
        app.login("op").await,
        app.login("boss").await,
    );
    let tar = app.get("/api/downloads/job-1/archive", &op).await.bytes;
    let upload = |name: &'static str, who: String, tar: axum::body::Bytes| {
        let app = &app;
        async move {
            app.call_raw(
                Method::POST,
                name,
                Some(&who),
                &[TAR],
                axum::body::Body::from(tar),
            )
            .await
        }
    };

    let made = upload("/api/downloads?name=copy-1", op.clone(), tar.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.body["id"], "copy-1");
    assert_eq!(made.body["manifest"]["job"], "job-1");
    for (name, content) in &files {
        let back = std::fs::read(downloads.path().join("copy-1").join(name)).unwrap();
        assert_eq!(sha256_hex(&back), sha256_hex(content), "{name}");
    }
    let served = app.get("/api/downloads/copy-1/files/push.sh", &op).await;
    assert_eq!(served.text, "#!/bin/sh\necho push\n");

    let again = upload("/api/downloads?name=copy-1", op.clone(), tar.clone()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.text);
    assert_eq!(again.body["error"], "a bundle named copy-1 exists already");

    let unnamed = upload("/api/downloads", op.clone(), tar.clone()).await;
    assert_eq!(unnamed.status, StatusCode::CREATED, "{}", unnamed.text);
    let id = unnamed.body["id"].as_str().unwrap();
    assert!(
        id.starts_with("import-") && id.len() == "import-20261202T031500Z-1a2b3c4d".len(),
        "{id}"
    );

    for (path, status, says) in [
        (
            "/api/downloads?name=..",
            StatusCode::BAD_REQUEST,
            "name \"..\"",
        ),
        (
            "/api/downloads?name=usage",
            StatusCode::BAD_REQUEST,
            "taken by the route /api/downloads/usage",
        ),
    ] {
        let r = upload(path, op.clone(), tar.clone()).await;
        assert_eq!(r.status, status, "{path}: {}", r.text);
        let said = r.body["error"].as_str().unwrap();
        assert!(said.contains(says), "{path}: {said}");
    }
    let refused = upload("/api/downloads?name=copy-2", view.clone(), tar.clone()).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let json = app
        .call_raw(
            Method::POST,
            "/api/downloads?name=copy-2",
            Some(&op),
            &[(axum::http::header::CONTENT_TYPE, "application/json")],
            axum::body::Body::from(tar.clone()),
        )
        .await;
    assert_eq!(
        json.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        json.text
    );
    // A hostile tar: refused by entry, nothing of it left in the folder.
    let mut evil = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_path("copy-3/manifest.json").unwrap();
    header.set_link_name("/etc/shadow").unwrap();
    header.set_size(0);
    header.set_cksum();
    evil.append(&header, &[][..]).unwrap();
    let evil = axum::body::Bytes::from(evil.into_inner().unwrap());
    let r = upload("/api/downloads?name=copy-3", op.clone(), evil).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        r.body["error"],
        "entry \"copy-3/manifest.json\" is a symbolic link; a bundle holds only regular files"
    );
    let mut left: Vec<String> = std::fs::read_dir(downloads.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, ["copy-1", id, "job-1"]);

    // The audit log names who uploaded what.
    let audit = app.get("/api/audit", &boss).await;
    let uploads: Vec<&serde_json::Value> = audit.body["entries"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", audit.text))
        .iter()
        .filter(|e| e["action"] == "bundle.upload")
        .collect();
    assert_eq!(uploads.len(), 2, "{}", audit.text);
    assert!(uploads
        .iter()
        .any(|e| e["target"] == "copy-1" && e["actor"] == "op"));
}

#[tokio::test]
async fn uploads_past_the_quota_are_refused_with_the_numbers_and_leave_nothing() {
    let source = tempfile::tempdir().unwrap();
    write_bundle(&source.path().join("job-1"), 2 << 20);
    let tar = {
        let mut b = tar::Builder::new(Vec::new());
        b.append_dir_all("job-1", source.path().join("job-1"))
            .unwrap();
        axum::body::Bytes::from(b.into_inner().unwrap())
    };
    let downloads = downloads_holding_half_a_mebibyte();
    let app = app_over(downloads.path(), &["--downloads-quota", "1M"]).await;
    let (view, op) = (app.login("view").await, app.login("op").await);

    let usage = app.get("/api/downloads/usage", &view).await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.text);
    assert_eq!(usage.body["used_bytes"], 512 << 10);
    assert_eq!(usage.body["quota_bytes"], 1 << 20);
    assert_eq!(usage.body["min_free_bytes"], 1 << 30);
    assert!(usage.body["free_bytes"].as_u64().unwrap() > 0);

    let expected_start = "the downloads folder holds 512 KiB of its 1 MiB quota; this upload needs";
    // Told the size up front: refused before a byte is written.
    let length = tar.len().to_string();
    let told = app
        .call_raw(
            Method::POST,
            "/api/downloads?name=big",
            Some(&op),
            &[TAR, (axum::http::header::CONTENT_LENGTH, length.as_str())],
            axum::body::Body::from(tar.clone()),
        )
        .await;
    assert_eq!(
        told.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        told.text
    );
    let said = told.body["error"].as_str().unwrap();
    assert!(
        said.starts_with(&format!("{expected_start} about 2")),
        "{said}"
    );
    assert!(
        said.ends_with("raise DOCKER_SYNC_DOWNLOADS_QUOTA"),
        "{said}"
    );

    // Not told: cut once it passes the room left.
    let chunks: Vec<Result<axum::body::Bytes, std::io::Error>> = tar
        .chunks(64 << 10)
        .map(|c| Ok(axum::body::Bytes::copy_from_slice(c)))
        .collect();
    let streamed = app
        .call_raw(
            Method::POST,
            "/api/downloads?name=big",
            Some(&op),
            &[TAR],
            axum::body::Body::from_stream(futures::stream::iter(chunks)),
        )
        .await;
    assert_eq!(
        streamed.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        streamed.text
    );
    let said = streamed.body["error"].as_str().unwrap();
    assert!(
        said.starts_with(&format!("{expected_start} more than ")),
        "{said}"
    );
    let left: Vec<String> = std::fs::read_dir(downloads.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["old"], "no partial upload stays");
    assert_eq!(
        app.get("/api/downloads/usage", &view).await.body["used_bytes"],
        512 << 10
    );
}

#[tokio::test]
async fn the_free_space_floor_refuses_an_upload_even_without_a_quota() {
    let downloads = tempfile::tempdir().unwrap();
    let app = app_over(downloads.path(), &["--downloads-min-free", "1000000T"]).await;
    let op = app.login("op").await;
    let r = app
        .call_raw(
            Method::POST,
            "/api/downloads",
            Some(&op),
            &[TAR],
            axum::body::Body::from(vec![0u8; 1024]),
        )
        .await;
    assert_eq!(r.status, StatusCode::INSUFFICIENT_STORAGE, "{}", r.text);
    let said = r.body["error"].as_str().unwrap();
    assert!(said.starts_with("the downloads filesystem has "), "{said}");
    assert!(said.contains("keeps at least 1000000 TiB free"), "{said}");
    let usage = app.get("/api/downloads/usage", &op).await;
    assert_eq!(usage.body["quota_bytes"], serde_json::Value::Null);
}

#[tokio::test]
async fn an_export_is_refused_before_it_is_queued_once_the_quota_is_reached() {
    let downloads = downloads_holding_half_a_mebibyte();
    let app = app_over(downloads.path(), &["--downloads-quota", "512K"]).await;
    let op = app.login("op").await;
    let export = serde_json::json!({
        "images": "127.0.0.1:1/library/nginx:1",
        "export": {"format": "oci-archive"},
    });
    let refused = app.post("/api/jobs", &op, export).await;
    assert_eq!(
        refused.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        refused.text
    );
    let said = refused.body["error"].as_str().unwrap();
    assert!(
        said.starts_with(
            "the downloads folder holds 512 KiB of its 512 KiB quota; this export needs room \
             for its archives"
        ),
        "{said}"
    );
    let jobs = app.get("/api/jobs", &op).await;
    assert_eq!(jobs.body.as_array().map(Vec::len), Some(0), "{}", jobs.text);

    // A copy into a registry writes nothing here: the quota is not its business.
    let sync = serde_json::json!({ "images": "127.0.0.1:1/library/nginx:1", "target": "target" });
    let queued = app.post("/api/jobs", &op, sync).await;
    assert_eq!(queued.status, StatusCode::ACCEPTED, "{}", queued.text);
}
