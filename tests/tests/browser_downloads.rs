//! Bundles and signatures in a real browser (Debian's headless chromium through chromedriver)
//! against the real api: the Downloads page lists a bundle written into the downloads folder
//! with a real manifest.json, serves its files through the links it shows, shows its push
//! script, offers downloads to operators and deleting to admins only, and deletes it from disk;
//! the sync form's "Export to a bundle" refuses docker-archive without a platform before
//! sending anything, sends the contract's body with one, and sends `with_signatures` for a
//! registry target; the rule dialog saves both and reads them back; every English string has a
//! Chinese one.

mod common;
mod webdriver;

use common::push_images;
use docker_sync_common::bundle::manifest::{size_and_sha256, MANIFEST_VERSION};
use docker_sync_common::bundle::{ArchiveFormat, BundleImage, BundleManifest, MANIFEST_FILE};
use docker_sync_tests::{Stack, StackOptions, ADMIN_PASSWORD, ADMIN_USER};
use fantoccini::Client;
use serde_json::{json, Value};
use webdriver::{
    choose, chromium, click, eval, eval_async, fill, shown, sign_in_as, sign_out,
    stack_without_workers, wait_for, wait_shown, wait_until,
};

const PASSWORD: &str = "Bundle-Pa55-e2e-secret";

/// A bundle as an export job leaves it: an archive file, push.sh and a manifest.json that
/// `BundleManifest` itself writes (so a field the api reads differently fails here).
fn write_bundle(stack: &Stack, id: &str, archive: &[u8]) -> BundleManifest {
    let dir = stack.downloads().join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let file = "team_web_1.0.oci.tar";
    std::fs::write(dir.join(file), archive).unwrap();
    std::fs::write(
        dir.join("push.sh"),
        "#!/bin/sh\n# pushes the bundle\nset -eu\n",
    )
    .unwrap();
    let (size, sha256) = size_and_sha256(&dir.join(file)).unwrap();
    let manifest = BundleManifest {
        version: MANIFEST_VERSION,
        job: id.to_owned(),
        created_at_ms: 1_764_000_000_000,
        format: ArchiveFormat::OciArchive,
        images: vec![BundleImage {
            source: "127.0.0.1:5000/team/web:1.0".into(),
            target: "mirror/team/web:1.0".into(),
            digest: format!("sha256:{}", "a".repeat(64)),
            platform: None,
            file: file.into(),
            size,
            sha256,
        }],
    };
    std::fs::write(
        dir.join(MANIFEST_FILE),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    manifest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_downloads_page_lists_a_bundle_serves_it_and_only_admins_delete_it() {
    let stack = stack_without_workers().await;
    for (user, role) in [("e2e-operator", "operator"), ("e2e-viewer", "viewer")] {
        let body = json!({ "username": user, "password": PASSWORD, "role": role });
        let (status, answer) = stack.post("/api/users", &body);
        assert_eq!(status, 201, "creating {user}: {answer}");
    }
    let id = "3f1c2b9e-0d4a-4c1e-9b7a-5e6f7a8b9c0d";
    let archive = b"not a real layout, but bytes to serve".repeat(100);
    let manifest = write_bundle(&stack, id, &archive);
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();
    let item = format!(r#"#downloads-list li.bundle[data-bundle="{id}"]"#);

    // A viewer sees the bundle with its image and size, and nothing to download or delete:
    // the files are the operators'.
    sign_in_as(
        &browser,
        &format!("{base}/downloads"),
        "e2e-viewer",
        PASSWORD,
    )
    .await;
    let listed = wait_shown(&browser, &item).await;
    let text = listed.text().await.unwrap();
    assert!(
        text.contains(&manifest.images[0].source) && text.contains(&manifest.images[0].target),
        "{text}"
    );
    assert!(
        text.contains("OCI archive") && text.contains("1 image"),
        "{text}"
    );
    // The size the api lists (archive, push.sh and manifest.json), in the page's units.
    let (_, bundles) = stack.get("/api/downloads");
    let bytes = bundles[0]["size"].as_u64().expect("a size");
    assert!(bytes > archive.len() as u64, "{bundles}");
    let size = eval(
        &browser,
        &format!("return document.querySelector('{item} .bundle-size').textContent"),
    )
    .await;
    assert_eq!(
        size,
        json!(format!("{:.2} kB", bytes as f64 / 1000.0)),
        "the bundle's size"
    );
    assert!(
        shown(&browser, r#"#site-nav a[data-nav="/downloads"]"#).await,
        "the Downloads page is in the viewer's navigation"
    );
    for css in [
        r#"a[data-key^="zip:"]"#,
        r#"button[data-key^="del:"]"#,
        "#bundle-upload",
    ] {
        assert!(
            !shown(&browser, &format!("#view-downloads {css}")).await,
            "a viewer is offered {css}"
        );
    }
    sign_out(&browser).await;

    // An operator downloads: the links the page shows serve the bundle's files. No delete.
    sign_in_as(
        &browser,
        &format!("{base}/downloads"),
        "e2e-operator",
        PASSWORD,
    )
    .await;
    wait_shown(&browser, &item).await;
    assert!(shown(&browser, "#bundle-upload").await, "operators upload");
    assert!(!shown(&browser, r#"button[data-key^="del:"]"#).await);
    let zip = wait_for(&browser, &format!(r#"a[data-key="zip:{id}"]"#)).await;
    assert_eq!(
        zip.attr("href").await.unwrap().as_deref(),
        Some(format!("/api/downloads/{id}/archive?format=zip").as_str())
    );
    let served = eval_async(
        &browser,
        &format!(
            r#"const done = arguments[arguments.length - 1];
               const a = document.querySelector('li.bundle[data-bundle="{id}"] a[data-file="{file}"]');
               fetch(a.href).then(async r => done([r.status, (await r.text()).length]));"#,
            file = manifest.images[0].file
        ),
    )
    .await;
    assert_eq!(served, json!([200, archive.len()]), "the file's link");
    let tar = eval_async(
        &browser,
        &format!(
            r#"const done = arguments[arguments.length - 1];
               fetch(document.querySelector('a[data-key="tar:{id}"]').href)
                 .then(async r => done([r.status, r.headers.get('content-type')]));"#
        ),
    )
    .await;
    assert_eq!(tar, json!([200, "application/x-tar"]), "the tar link");

    // The push script, with the command line to run it.
    click(&browser, &format!(r#"button[data-key="script:{id}"]"#)).await;
    wait_until(
        &browser,
        "the script is shown",
        "document.querySelector('#bundle-script-text')?.textContent.includes('pushes the bundle')",
    )
    .await;
    let command = eval(
        &browser,
        "return [...document.querySelectorAll('dialog[open] .copy-input')].map(i => i.value)",
    )
    .await;
    assert_eq!(
        command[0],
        json!("sh push.sh registry.example.com/mirror"),
        "{command}"
    );
    click(&browser, "dialog[open] button[type=submit]").await;
    wait_until(
        &browser,
        "the dialog closes",
        "!document.querySelector('dialog[open]')",
    )
    .await;
    sign_out(&browser).await;

    // An admin deletes, after saying yes: gone from the page and from the disk.
    sign_in_as(
        &browser,
        &format!("{base}/downloads"),
        ADMIN_USER,
        ADMIN_PASSWORD,
    )
    .await;
    wait_shown(&browser, &item).await;
    click(&browser, &format!(r#"button[data-key="del:{id}"]"#)).await;
    wait_shown(&browser, "dialog[open]").await;
    assert!(
        stack.downloads().join(id).exists(),
        "nothing is deleted before the confirmation"
    );
    click(&browser, "dialog[open] button[type=submit]").await;
    wait_until(
        &browser,
        "the bundle leaves the list",
        &format!(r#"!document.querySelector('li.bundle[data-bundle="{id}"]')"#),
    )
    .await;
    wait_until(
        &browser,
        "the page says there are none",
        "document.querySelector('#downloads-status').textContent.includes('No bundles')",
    )
    .await;
    assert!(!stack.downloads().join(id).exists(), "the folder is gone");

    // Every English string has a Chinese one (or its plural's), in the file the api serves.
    let missing = eval_async(
        &browser,
        r#"const done = arguments[arguments.length - 1];
           import('/i18n.js').then(({ STRINGS }) => {
             const zh = STRINGS.zh;
             done(Object.keys(STRINGS.en).filter(k => !(k in zh) && !(k.replace(/_one$/, '_other') in zh)));
           });"#,
    )
    .await;
    assert_eq!(missing, json!([]), "English strings without a Chinese one");
    browser.close().await.unwrap();
}

/// Records the bodies of the page's POST /api/jobs, for the test to read (a fresh page load
/// drops the hook, so it is installed after each `goto`).
async fn record_job_posts(browser: &Client) {
    eval(
        browser,
        r#"window.__jobPosts = [];
           const real = window.fetch;
           window.fetch = (url, init) => {
             if (String(url) === '/api/jobs' && init?.method === 'POST') window.__jobPosts.push(JSON.parse(init.body));
             return real(url, init);
           };
           return null;"#,
    )
    .await;
}

async fn job_posts(browser: &Client) -> Vec<Value> {
    match eval(browser, "return window.__jobPosts").await {
        Value::Array(posts) => posts,
        other => panic!("no recorded posts: {other}"),
    }
}

/// The job the page went to after a submit, as GET /api/jobs/{id} has it.
async fn submitted_job(browser: &Client, stack: &Stack) -> Value {
    wait_until(
        browser,
        "the page goes to the new job",
        "location.pathname.startsWith('/jobs/')",
    )
    .await;
    let path = browser.current_url().await.unwrap().path().to_owned();
    let (status, job) = stack.get(&format!("/api{path}?tasks=false"));
    assert_eq!(status, 200, "{job}");
    job
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_form_exports_to_a_bundle_docker_archive_only_with_a_platform() {
    let (stack, pushed) = tokio::task::spawn_blocking(|| {
        // No workers: the test reads the jobs as queued.
        let stack = Stack::start(StackOptions {
            workers: 0,
            ..StackOptions::default()
        });
        let pushed = push_images(&stack.source, &[("team/web", "1.0")], 8 * 1024);
        (stack, pushed)
    })
    .await
    .unwrap();
    let image = pushed[0].reference(&stack.source_host());
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();

    sign_in_as(&browser, &format!("{base}/"), ADMIN_USER, ADMIN_PASSWORD).await;
    wait_shown(&browser, "#view-home").await;
    record_job_posts(&browser).await;
    fill(&browser, "#images", &image).await;
    assert!(
        shown(&browser, "#with-signatures").await,
        "the signatures option, for a registry"
    );
    assert!(!shown(&browser, "#export-format").await);
    choose(&browser, "#target", "@bundle").await;
    wait_shown(&browser, "#export-format").await;
    assert!(
        !shown(&browser, "#with-signatures").await,
        "no signatures option for an archive"
    );
    assert!(
        !shown(&browser, "#script-btn").await,
        "no script for an export"
    );

    // docker-archive holds one platform: without one the form says so and sends nothing.
    choose(&browser, "#export-format", "docker-archive").await;
    choose(&browser, "#platform", "").await;
    click(&browser, "#submit").await;
    let error = wait_shown(&browser, "#form-errors").await;
    assert!(
        error
            .text()
            .await
            .unwrap()
            .contains("docker-archive holds one platform"),
        "{}",
        error.text().await.unwrap()
    );
    assert!(job_posts(&browser).await.is_empty(), "a request was sent");

    choose(&browser, "#platform", "linux/amd64").await;
    click(&browser, "#submit").await;
    wait_until(&browser, "the form sends", "window.__jobPosts.length > 0").await;
    assert_eq!(
        job_posts(&browser).await,
        [json!({
            "images": image,
            "export": { "format": "docker-archive" },
            "replace_level": "skip",
            "platform": "linux/amd64",
        })],
        "the export body"
    );
    let job = submitted_job(&browser, &stack).await;
    assert_eq!(job["target"], "@bundle", "{job}");
    // The job view gives the format as a string (api/src/jobs/store.rs), not `{format}`.
    assert_eq!(job["export"], "docker-archive", "{job}");
    assert_eq!(job["platform"], "linux/amd64", "{job}");
    assert_eq!(job["bundle"], job["id"], "{job}");
    // The job's page names the bundle and links to it on the Downloads page.
    // Read in the page, not through an element handle: the job page redraws as the job's
    // state arrives, and a handle taken before a redraw is stale.
    wait_shown(&browser, "#job-bundle-link").await;
    let bundle_href = format!("/downloads?bundle={}", job["id"].as_str().unwrap());
    wait_until(
        &browser,
        "the bundle link",
        &format!(
            "document.getElementById('job-bundle-link').getAttribute('href') === '{bundle_href}'"
        ),
    )
    .await;
    wait_until(
        &browser,
        "the job's target",
        "document.getElementById('job-target').textContent === 'Bundle (docker-archive)'",
    )
    .await;

    // The preview takes the same body (the choices are remembered across the reload).
    browser.goto(&format!("{base}/")).await.unwrap();
    wait_shown(&browser, "#export-format").await;
    fill(&browser, "#images", &image).await;
    click(&browser, "#preview-btn").await;
    wait_shown(&browser, "#preview-rows tr").await;
    assert!(
        !shown(&browser, "#preview-error").await,
        "the preview of an export failed"
    );

    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sync_form_sends_with_signatures_for_a_registry_target() {
    let stack = stack_without_workers().await;
    let image = format!("{}/team/web:1.0", stack.source_host());
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();
    sign_in_as(&browser, &format!("{base}/"), ADMIN_USER, ADMIN_PASSWORD).await;
    wait_shown(&browser, "#view-home").await;
    record_job_posts(&browser).await;
    fill(&browser, "#images", &image).await;
    choose(&browser, "#target", "target").await;
    click(&browser, "#with-signatures").await;
    click(&browser, "#submit").await;
    wait_until(&browser, "the form sends", "window.__jobPosts.length > 0").await;
    assert_eq!(
        job_posts(&browser).await,
        [json!({
            "images": image,
            "target": "target",
            "with_signatures": true,
            "replace_level": "skip",
        })],
        "the body with signatures"
    );
    let job = submitted_job(&browser, &stack).await;
    assert_eq!(job["with_signatures"], true, "{job}");
    assert!(job.get("export").is_none(), "{job}");
    browser.close().await.unwrap();
}

/// Opens the new-rule dialog with its name, image and target filled in.
async fn new_rule(browser: &Client, name: &str, image: &str, target: &str) {
    click(
        browser,
        "#view-rules:not([hidden]) #rule-create:not([hidden])",
    )
    .await;
    fill(browser, "dialog[open] input[name=rule-name]", name).await;
    fill(browser, "dialog[open] textarea[name=rule-images]", image).await;
    choose(browser, "dialog[open] select[name=rule-target]", target).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rule_dialog_saves_an_export_and_a_rule_with_signatures() {
    let stack = stack_without_workers().await;
    let image = format!("{}/team/web:1.0", stack.source_host());
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();
    sign_in_as(
        &browser,
        &format!("{base}/rules"),
        ADMIN_USER,
        ADMIN_PASSWORD,
    )
    .await;

    // An export: docker-archive without a platform is refused on the field, then saved.
    new_rule(&browser, "carry-out", &image, "@bundle").await;
    assert!(
        !shown(&browser, "dialog[open] input[name=rule-with-signatures]").await,
        "no signatures option for an archive"
    );
    choose(
        &browser,
        "dialog[open] select[name=rule-export-format]",
        "docker-archive",
    )
    .await;
    click(&browser, "dialog[open] button[type=submit]").await;
    wait_for(
        &browser,
        r#"dialog[open] input[name=rule-platform][aria-invalid="true"]"#,
    )
    .await;
    assert_eq!(
        stack.get("/api/rules/carry-out").0,
        404,
        "saved without a platform"
    );
    fill(
        &browser,
        "dialog[open] input[name=rule-platform]",
        "linux/arm64",
    )
    .await;
    click(&browser, "dialog[open] button[type=submit]").await;
    wait_until(
        &browser,
        "the dialog closes",
        "!document.querySelector('dialog[open]')",
    )
    .await;
    let (status, rule) = stack.get("/api/rules/carry-out");
    assert_eq!(status, 200, "{rule}");
    assert_eq!(
        rule["export"],
        json!({ "format": "docker-archive" }),
        "{rule}"
    );
    assert_eq!(rule["platform"], "linux/arm64", "{rule}");
    assert!(
        rule.get("target").is_none() || rule["target"] == "@bundle",
        "{rule}"
    );

    // A registry target with signatures; editing it shows the option ticked.
    new_rule(&browser, "signed", &image, "target").await;
    click(&browser, "dialog[open] input[name=rule-with-signatures]").await;
    click(&browser, "dialog[open] button[type=submit]").await;
    wait_until(
        &browser,
        "the dialog closes",
        "!document.querySelector('dialog[open]')",
    )
    .await;
    let (status, rule) = stack.get("/api/rules/signed");
    assert_eq!(status, 200, "{rule}");
    assert_eq!(rule["target"], "target", "{rule}");
    assert_eq!(rule["with_signatures"], true, "{rule}");
    click(&browser, r#"#rules-body button[data-key="edit:signed"]"#).await;
    wait_shown(&browser, "dialog[open] input[name=rule-with-signatures]").await;
    assert_eq!(
        eval(
            &browser,
            "return document.querySelector('dialog[open] input[name=rule-with-signatures]').checked"
        )
        .await,
        json!(true),
        "the option reads back"
    );
    click(&browser, "dialog[open] .dialog-actions .btn-secondary").await;
    wait_until(
        &browser,
        "the dialog closes",
        "!document.querySelector('dialog[open]')",
    )
    .await;
    click(&browser, r#"#rules-body button[data-key="edit:carry-out"]"#).await;
    wait_shown(&browser, "dialog[open] select[name=rule-export-format]").await;
    assert_eq!(
        eval(
            &browser,
            "return ['rule-target', 'rule-export-format'].map(n => document.querySelector(`dialog[open] select[name=${n}]`).value)"
        )
        .await,
        json!(["@bundle", "docker-archive"]),
        "the export reads back"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_uploads_a_bundle_tar_and_the_page_lists_it() {
    let stack = stack_without_workers().await;
    let (status, answer) = stack.post(
        "/api/users",
        &json!({ "username": "e2e-operator", "password": PASSWORD, "role": "operator" }),
    );
    assert_eq!(status, 201, "{answer}");
    // A bundle as the Downloads page's tar gives it (`<bundle>/<file>`), made on disk and
    // packed, then removed, so only the upload can bring it back.
    let id = "7d0e4f1a-9b2c-4e3d-8a6f-1c2b3d4e5f60";
    let manifest = write_bundle(&stack, id, &b"layer".repeat(500));
    let folder = stack.downloads().join(id);
    let carried = tempfile::tempdir().unwrap();
    let tar_path = carried.path().join("carried.tar");
    {
        let mut tar = tar::Builder::new(std::fs::File::create(&tar_path).unwrap());
        tar.append_dir_all(id, &folder).unwrap();
        tar.finish().unwrap();
    }
    std::fs::remove_dir_all(&folder).unwrap();

    let (_driver, browser) = chromium().await;
    let base = stack.api_url();
    sign_in_as(
        &browser,
        &format!("{base}/downloads"),
        "e2e-operator",
        PASSWORD,
    )
    .await;
    wait_until(
        &browser,
        "the empty list",
        "document.querySelector('#downloads-status').textContent.includes('No bundles')",
    )
    .await;
    wait_shown(&browser, "#bundle-upload").await;
    wait_for(&browser, "#bundle-file")
        .await
        .send_keys(tar_path.to_str().unwrap())
        .await
        .expect("choosing the tar");
    let listed = wait_shown(&browser, "#downloads-list li.bundle").await;
    let text = listed.text().await.unwrap();
    assert!(text.contains(&manifest.images[0].source), "{text}");
    let toast = wait_shown(&browser, "#toast").await.text().await.unwrap();
    assert!(toast.contains("uploaded"), "{toast}");
    browser.close().await.unwrap();
}
