//! `/api/downloads` on a real downloads folder: bundles listed newest first, a file and a whole
//! bundle served, names that could leave the folder refused, deleting for admins only.

mod support;

use axum::http::StatusCode;

const REGISTRIES: &str = "registries:\n  target:\n    url: \"http://127.0.0.1:1\"\n";

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

    let app = support::app(
        REGISTRIES,
        &["--downloads", downloads.path().to_str().unwrap()],
    )
    .await;
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
