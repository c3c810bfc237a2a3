//! The web UI in a real browser (Debian's headless chromium through chromedriver) against the
//! real api, workers and registries: sign in, add a registry with a password on the Registries
//! page, test its connection, then sync an image into it from the sync form after a preview;
//! an operator cancels a running job from its page, then retries it; a rule made in its dialog
//! is run now and its run is listed on its page; a webhook added in its dialog gets a test
//! delivery through to a receiver on loopback; each role sees the navigation entries of the
//! pages it may open, as a rail on a desktop and a menu on a phone, in both themes; the Jobs
//! page narrows its list by status and image text, keeps the filters in an address a reload
//! (or Back) restores, pages by cursor and opens a job from its row; a job of 2,000 tasks opens
//! a page of rows at a time and follows a cancel; errors read in Chinese; the statistics page
//! charts a real job under the api's CSP, in English and Chinese, light and dark.

mod common;
mod webdriver;

use std::time::Duration;

use common::push_images;
use docker_sync_tests::{
    Stack, StackOptions, WebhookReceiver, ADMIN_PASSWORD, ADMIN_USER, TARGET_PASSWORD, TARGET_USER,
};
use fantoccini::{Client, Locator};
use webdriver::{
    chromium, click, eval, eval_until, fill, shown, sign_in_as, sign_in_at, sign_out,
    stack_without_workers, wait_for, wait_shown, wait_until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_registry_tests_it_and_syncs_into_it_from_the_browser() {
    let (stack, pushed) = tokio::task::spawn_blocking(|| {
        let stack = Stack::start(StackOptions::default());
        let pushed = push_images(&stack.source, &[("team/web", "1.0")], 16 * 1024);
        (stack, pushed)
    })
    .await
    .unwrap();
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();

    // A deep link while signed out goes through the login page and back.
    sign_in_at(&browser, &format!("{base}/registries")).await;
    wait_for(
        &browser,
        "#registries-table:not([hidden]) #registries-body tr",
    )
    .await;
    assert!(browser
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/registries"));

    // Add a registry with a password through the dialog.
    click(&browser, "#registry-create").await;
    fill(&browser, "dialog[open] input[name=registry-name]", "vault").await;
    wait_for(&browser, "dialog[open] select[name=registry-type]")
        .await
        .select_by_value("generic")
        .await
        .unwrap();
    fill(
        &browser,
        "dialog[open] input[name=registry-url]",
        &stack.target.url(),
    )
    .await;
    fill(
        &browser,
        "dialog[open] input[name=registry-namespace]",
        "ui",
    )
    .await;
    fill(
        &browser,
        "dialog[open] input[name=registry-username]",
        TARGET_USER,
    )
    .await;
    fill(
        &browser,
        "dialog[open] input[name=registry-password]",
        TARGET_PASSWORD,
    )
    .await;
    click(&browser, "dialog[open] button[type=submit]").await;

    // Listed as an api registry; its test passes with the stored credentials.
    click(&browser, r#"button[data-key="test:vault"]"#).await;
    wait_for(&browser, ".registry-test-summary .status-succeeded").await;
    let page = browser.source().await.unwrap();
    assert!(
        !page.contains(TARGET_PASSWORD),
        "the page holds the password"
    );
    let (_, stored) = stack.get("/api/registries/vault");
    assert_eq!(stored["source"], "api", "{stored}");
    assert_eq!(stored["has_password"], true, "{stored}");

    // The sync form: preview, then start, then watch the job succeed.
    browser.goto(&format!("{base}/")).await.unwrap();
    let image = pushed[0].reference(&stack.source_host());
    fill(&browser, "#images", &image).await;
    wait_for(&browser, r#"#target option[value="vault"]"#).await;
    wait_for(&browser, "#target")
        .await
        .select_by_value("vault")
        .await
        .unwrap();
    wait_for(&browser, "#level")
        .await
        .select_by_value("all")
        .await
        .unwrap();
    click(&browser, "#preview-btn").await;
    let preview = wait_for(&browser, "#preview-rows tr")
        .await
        .text()
        .await
        .unwrap();
    let target_name = format!("{}/ui/web:1.0", stack.target.host());
    assert!(preview.contains(&target_name), "preview: {preview}");
    click(&browser, "#submit").await;
    wait_for(&browser, "#job-status.status-succeeded").await;

    let digest = stack.target.manifest_digest("ui/web", "1.0");
    assert_eq!(digest.as_deref(), Some(pushed[0].digest.as_str()));

    // The login page's `next` stays on this site however it is spelled: "/.//evil.example"
    // normalises to "//evil.example", which history.replaceState used to throw on.
    let hostile = [
        "/.//evil.example",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example/",
        "/api/jobs",
    ];
    let verdicts = browser
        .execute_async(
            r#"const [nexts, done] = arguments;
               import("/ui.js").then((ui) => done(nexts.map((n) => ui.safeNext(n))));"#,
            vec![serde_json::json!(hostile)],
        )
        .await
        .unwrap();
    assert_eq!(
        verdicts,
        serde_json::json!(hostile.map(|_| serde_json::Value::Null)),
        "{hostile:?}"
    );
    let kept = browser
        .execute_async(
            r#"const [done] = arguments;
               import("/ui.js").then((ui) => done(ui.safeNext("/jobs/x?y=1#z")));"#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(kept, "/jobs/x?y=1#z");
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cancels_a_running_job_from_its_page_and_retries_it() {
    let (stack, job) = tokio::task::spawn_blocking(|| {
        let stack = common::slow_stack(StackOptions {
            workers: 1,
            concurrency: 1,
            ..StackOptions::default()
        });
        let pushed = push_images(
            &stack.source,
            // About 4 s each, one at a time: the job runs long enough to be stopped.
            &[
                ("stop/one", "1"),
                ("stop/two", "1"),
                ("stop/three", "1"),
                ("stop/four", "1"),
            ],
            common::LAYER,
        );
        let refs: Vec<String> = pushed
            .iter()
            .map(|p| p.reference(&stack.source_host()))
            .collect();
        let job = stack.submit(&refs, "skip")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        (stack, job)
    })
    .await
    .unwrap();
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();

    sign_in_at(&browser, &format!("{base}/jobs/{job}")).await;
    wait_for(&browser, "#job-status.status-running").await;
    click(&browser, "#job-cancel:not([hidden])").await;
    // The page asks first; nothing is cancelled until the operator says so.
    let question = browser.get_alert_text().await.unwrap();
    assert!(question.contains("Cancel this job"), "{question}");
    browser.accept_alert().await.unwrap();
    wait_for(&browser, "#job-status.status-cancelled").await;
    assert!(
        browser
            .find(Locator::Css("#job-cancel"))
            .await
            .unwrap()
            .attr("hidden")
            .await
            .unwrap()
            .is_some(),
        "a finished job offers no cancel"
    );
    let trigger = wait_for(&browser, "#job-trigger")
        .await
        .text()
        .await
        .unwrap();
    assert!(trigger.contains(ADMIN_USER), "started by: {trigger}");

    // Retry failed: a new job of the cancelled images, whose page links back to this one.
    click(
        &browser,
        "#job-actions:not([hidden]) #job-retry:not([hidden])",
    )
    .await;
    wait_for(&browser, "#job-links-row:not([hidden]) a").await;
    let retry_url = browser.current_url().await.unwrap();
    assert!(
        !retry_url.path().ends_with(&job),
        "still on the old job: {retry_url}"
    );
    wait_for(&browser, "#job-status.status-succeeded").await;
    let done = tokio::task::spawn_blocking(move || {
        let done = stack.wait_job(&job, Duration::from_secs(30));
        drop(stack);
        done
    })
    .await
    .unwrap();
    assert_eq!(done["status"], "cancelled", "{done:#}");
    assert_eq!(done["cancelled_by"], ADMIN_USER, "{done:#}");
    assert_eq!(
        done["retries"].as_array().map(Vec::len),
        Some(1),
        "{done:#}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_makes_a_rule_runs_it_and_sees_its_run() {
    let (stack, pushed) = tokio::task::spawn_blocking(|| {
        let stack = Stack::start(StackOptions::default());
        let pushed = push_images(&stack.source, &[("rules/app", "1.0")], 16 * 1024);
        (stack, pushed)
    })
    .await
    .unwrap();
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();
    sign_in_at(&browser, &format!("{base}/rules")).await;

    // The dialog: the sync form's fields and a schedule whose minute is out of range. (The
    // view's markup is there, hidden, from the start: wait for the page itself.)
    click(
        &browser,
        "#view-rules:not([hidden]) #rule-create:not([hidden])",
    )
    .await;
    fill(&browser, "dialog[open] input[name=rule-name]", "nightly").await;
    fill(
        &browser,
        "dialog[open] textarea[name=rule-images]",
        &pushed[0].reference(&stack.source_host()),
    )
    .await;
    wait_for(
        &browser,
        r#"dialog[open] select[name=rule-target] option[value="target"]"#,
    )
    .await;
    wait_for(&browser, "dialog[open] select[name=rule-target]")
        .await
        .select_by_value("target")
        .await
        .unwrap();
    wait_for(&browser, "dialog[open] select[name=rule-level]")
        .await
        .select_by_value("all")
        .await
        .unwrap();
    // The preview says what the lines come to now, before anything is saved.
    click(&browser, "dialog[open] #rule-preview").await;
    let preview = wait_for(
        &browser,
        "dialog[open] #rule-preview-result:not([hidden]) .rule-preview-copy",
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(preview.contains("rules/app:1.0"), "the preview: {preview}");
    fill(&browser, "dialog[open] input[name=rule-cron]", "61 3 * * *").await;
    fill(
        &browser,
        "dialog[open] input[name=rule-timezone]",
        "Asia/Shanghai",
    )
    .await;
    click(&browser, "dialog[open] button[type=submit]").await;

    // The server's own words, under the field they are about; nothing was made.
    wait_for(
        &browser,
        r#"dialog[open] input[name=rule-cron][aria-invalid="true"]"#,
    )
    .await;
    let said = wait_for(&browser, "dialog[open] .field-error:not([hidden])")
        .await
        .text()
        .await
        .unwrap();
    assert!(said.contains("61 3 * * *"), "the cron's error: {said}");
    assert_eq!(stack.get("/api/rules/nightly").0, 404);

    fill(&browser, "dialog[open] input[name=rule-cron]", "0 3 * * *").await;
    click(&browser, "dialog[open] button[type=submit]").await;
    wait_for(&browser, r#"#rules-body a[href="/rules/nightly"]"#).await;
    let row = wait_for(&browser, "#rules-body tr")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        row.contains("0 3 * * *") && row.contains("Asia/Shanghai"),
        "{row}"
    );
    let (_, stored) = stack.get("/api/rules/nightly");
    assert_eq!(stored["source"], "api", "{stored}");
    assert_eq!(stored["replace_level"], "all", "{stored}");
    assert_eq!(stored["schedule"]["timezone"], "Asia/Shanghai", "{stored}");
    assert!(stored["next_fire_ms"].is_u64(), "{stored}");

    // Disabled and enabled again from its row: its schedule stops showing a next fire.
    click(&browser, r#"button[data-key="toggle:nightly"]"#).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while stack.get("/api/rules/nightly").1["enabled"] != false {
        assert!(
            std::time::Instant::now() < deadline,
            "the rule was not disabled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, off) = stack.get("/api/rules/nightly");
    assert!(off.get("next_fire_ms").is_none(), "{off}");
    assert_eq!(
        off["schedule"]["cron"], "0 3 * * *",
        "the rest is kept: {off}"
    );
    wait_for(
        &browser,
        r#"#rules-body tr.is-disabled button[data-key="toggle:nightly"]"#,
    )
    .await;
    click(&browser, r#"button[data-key="toggle:nightly"]"#).await;
    wait_for(
        &browser,
        r#"#rules-body tr:not(.is-disabled) button[data-key="toggle:nightly"]"#,
    )
    .await;

    // Run now lands on the new job's page, which finishes.
    click(&browser, r#"button[data-key="run:nightly"]"#).await;
    wait_for(&browser, "#job-status.status-succeeded").await;
    let job_url = browser.current_url().await.unwrap();
    let job = job_url
        .path()
        .strip_prefix("/jobs/")
        .unwrap_or_else(|| panic!("not a job's page: {job_url}"))
        .to_owned();
    let digest = stack.target.manifest_digest("mirror/app", "1.0");
    assert_eq!(digest.as_deref(), Some(pushed[0].digest.as_str()));

    // Back on the list, then the rule's page: the run, by whom, with its job and status.
    browser.back().await.unwrap();
    click(
        &browser,
        r#"#view-rules:not([hidden]) #rules-body a[href="/rules/nightly"]"#,
    )
    .await;
    let link = format!(r#"#rule-runs-body a[href="/jobs/{job}"]"#);
    wait_for(&browser, &link).await;
    let run = wait_for(&browser, "#rule-runs-body tr")
        .await
        .text()
        .await
        .unwrap();
    assert!(run.contains(ADMIN_USER), "the run: {run}");
    wait_for(&browser, "#rule-runs-body tr .status-succeeded").await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_webhook_and_sees_its_deliveries() {
    const SECRET: &str = "hmac-secret-of-the-e2e-hook";
    let stack = tokio::task::spawn_blocking(|| Stack::start(StackOptions::default()))
        .await
        .unwrap();
    let receiver = WebhookReceiver::start(&[]);
    let url = receiver.url();
    let (_driver, browser) = chromium().await;
    let base = stack.api_url();
    sign_in_at(&browser, &format!("{base}/webhooks")).await;

    click(&browser, "#view-webhooks:not([hidden]) #webhook-create").await;
    fill(&browser, "dialog[open] input[name=webhook-name]", "ops").await;
    wait_for(&browser, "dialog[open] select[name=webhook-format]")
        .await
        .select_by_value("generic")
        .await
        .unwrap();
    fill(&browser, "dialog[open] input[name=webhook-url]", &url).await;
    fill(&browser, "dialog[open] input[name=webhook-secret]", SECRET).await;
    click(&browser, "dialog[open] button[type=submit]").await;

    // Listed with the URL cut short and the secret only said to be there.
    let row = wait_for(
        &browser,
        r#"#webhooks-body tr:has(a[href="/webhooks/ops"])"#,
    )
    .await
    .text()
    .await
    .unwrap();
    assert!(
        row.contains("http://127.0.0.1:") && !row.contains("/hook"),
        "{row}"
    );
    assert!(row.contains("Yes"), "the secret is set: {row}");
    let page = browser.source().await.unwrap();
    assert!(!page.contains(SECRET), "the page holds the secret");
    let (_, listed) = stack.get("/api/webhooks");
    assert_eq!(
        listed[0]["events"],
        serde_json::json!(["job.failed", "rule.skipped"]),
        "{listed}"
    );

    // Its deliveries: a test goes out and comes back delivered, with the receiver's 200.
    click(&browser, r#"button[data-key="deliveries:ops"]"#).await;
    click(
        &browser,
        "#view-webhook:not([hidden]) #webhook-test:not([hidden])",
    )
    .await;
    let delivered = wait_for(&browser, "#deliveries-body tr.delivery-delivered")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        delivered.contains("ping") && delivered.contains("200"),
        "{delivered}"
    );
    let pings = receiver.requests();
    assert!(
        pings
            .iter()
            .any(|r| r.headers.get("x-docker-sync-event").map(String::as_str) == Some("ping")),
        "the receiver got the test delivery: {pings:?}"
    );
    browser.close().await.unwrap();
}

/// The navigation entries (their paths) the page shows now, in order.
async fn nav_entries(browser: &Client) -> Vec<String> {
    let paths = eval(
        browser,
        "return [...document.querySelectorAll('#site-nav-list li:not([hidden]) a')].map(a => a.dataset.nav)",
    )
    .await;
    serde_json::from_value(paths).expect("a list of paths")
}

async fn nav_background(browser: &Client) -> String {
    let bg = eval(
        browser,
        "return getComputedStyle(document.getElementById('site-nav')).backgroundColor",
    )
    .await;
    bg.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_the_navigation_of_the_pages_it_may_open() {
    const PASSWORD: &str = "Role-Pa55-e2e-secret";
    let stack = tokio::task::spawn_blocking(|| Stack::start(StackOptions::default()))
        .await
        .unwrap();
    for (user, role) in [("e2e-operator", "operator"), ("e2e-viewer", "viewer")] {
        let body = serde_json::json!({ "username": user, "password": PASSWORD, "role": role });
        let (status, answer) = stack.post("/api/users", &body);
        assert_eq!(status, 201, "creating {user}: {answer}");
    }
    let (_driver, browser) = chromium().await;
    browser.set_window_size(1280, 900).await.unwrap();
    let base = stack.api_url();

    let everyone = [
        "/",
        "/jobs",
        "/downloads",
        "/rules",
        "/registries",
        "/stats",
    ];
    let admin_too = [&everyone[..], &["/users", "/audit", "/webhooks"]].concat();
    let accounts = [
        (ADMIN_USER, ADMIN_PASSWORD, admin_too.clone()),
        ("e2e-operator", PASSWORD, everyone.to_vec()),
        ("e2e-viewer", PASSWORD, everyone.to_vec()),
    ];
    for (user, password, expected) in accounts {
        sign_in_as(&browser, &format!("{base}/registries"), user, password).await;
        // Every role may read the registries, and the rail marks the page as the current one.
        wait_for(
            &browser,
            "#view-registries:not([hidden]) #registries-table:not([hidden]) #registries-body tr",
        )
        .await;
        let current = wait_shown(&browser, r#"#site-nav a[aria-current="page"]"#).await;
        assert_eq!(
            current.attr("data-nav").await.unwrap().as_deref(),
            Some("/registries")
        );
        assert_eq!(nav_entries(&browser).await, expected, "{user}'s navigation");
        assert!(shown(&browser, "#site-nav").await, "the rail, for {user}");
        assert!(
            !shown(&browser, "#nav-toggle").await,
            "no menu toggle on a desktop"
        );

        // Only admins may change or test a registry; nobody else is offered the buttons.
        let admin = user == ADMIN_USER;
        assert_eq!(shown(&browser, "#registry-create").await, admin, "{user}");
        let row_actions = browser
            .find_all(Locator::Css(
                r#"#registries-body button[data-key^="test:"], #registries-body button[data-key^="edit:"], #registries-body button[data-key^="del:"]"#,
            ))
            .await
            .unwrap();
        assert_eq!(!row_actions.is_empty(), admin, "{user}'s row actions");

        // The account menu keeps only the account's own pages.
        let menu = eval(
            &browser,
            "return [...document.querySelectorAll('#user-panel a.menu-item')].map(a => new URL(a.href).pathname)",
        )
        .await;
        assert_eq!(menu, serde_json::json!(["/tokens", "/password"]), "{user}");

        sign_out(&browser).await;
        assert!(
            !shown(&browser, "#site-nav").await,
            "no navigation signed out"
        );
    }

    // A phone: the rail gives way to a menu behind the toggle, which closes once used.
    sign_in_as(&browser, &format!("{base}/"), "e2e-viewer", PASSWORD).await;
    wait_shown(&browser, "#view-home").await;
    browser.set_window_size(420, 860).await.unwrap();
    wait_shown(&browser, "#nav-toggle").await;
    assert!(
        !shown(&browser, "#site-nav").await,
        "the menu starts closed"
    );
    click(&browser, "#nav-toggle").await;
    wait_shown(&browser, r#"#site-nav a[data-nav="/jobs"]"#).await;
    assert_eq!(
        wait_for(&browser, "#nav-toggle")
            .await
            .attr("aria-expanded")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    click(&browser, r#"#site-nav a[data-nav="/jobs"]"#).await;
    wait_shown(&browser, "#view-jobs").await;
    assert!(
        !shown(&browser, "#site-nav").await,
        "the menu closes on navigating"
    );

    // The theme toggle goes auto -> light -> dark; the rail follows the palette.
    browser.set_window_size(1280, 900).await.unwrap();
    wait_shown(&browser, "#site-nav").await;
    click(&browser, "#theme-toggle").await;
    assert_eq!(
        eval(&browser, "return document.documentElement.dataset.theme").await,
        "light"
    );
    let light = nav_background(&browser).await;
    click(&browser, "#theme-toggle").await;
    assert_eq!(
        eval(&browser, "return document.documentElement.dataset.theme").await,
        "dark"
    );
    let dark = nav_background(&browser).await;
    assert!(
        !light.is_empty() && light != dark,
        "light {light:?}, dark {dark:?}"
    );
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_of_2000_tasks_opens_a_page_at_a_time_searches_on_the_server_and_follows_a_cancel() {
    let stack = stack_without_workers().await;
    let images: Vec<String> = (0..2000)
        .map(|i| format!("{}/many/img{i}:1", stack.source.host()))
        .collect();
    let job = stack.submit(&images, "skip");
    let id = job["id"].as_str().unwrap().to_owned();
    let (_driver, browser) = chromium().await;
    sign_in_at(&browser, &format!("{}/jobs/{id}", stack.api_url())).await;

    // One page of rows, not 2,000; the counts are the whole job's.
    wait_until(
        &browser,
        "first page",
        "document.querySelectorAll('#task-list > li').length === 100",
    )
    .await;
    wait_until(
        &browser,
        "queued count",
        "document.querySelector('#job-counts .count-queued .count-num')?.textContent === '2000'",
    )
    .await;
    let nodes = eval(
        &browser,
        "return document.getElementsByTagName('*').length;",
    )
    .await;
    assert!(
        nodes.as_u64().unwrap() < 8000,
        "{nodes} DOM nodes for a 2,000-task job"
    );
    // The next page comes as the list's end scrolls into view.
    eval(
        &browser,
        "document.getElementById('tasks-more-row').scrollIntoView(); return 0;",
    )
    .await;
    wait_until(
        &browser,
        "second page",
        "document.querySelectorAll('#task-list > li').length === 200",
    )
    .await;
    // The search goes to the server: the one task is found wherever it is in the job.
    fill(&browser, "#tasks-search", "img1999:").await;
    wait_until(
        &browser,
        "search",
        "document.querySelectorAll('#task-list > li').length === 1",
    )
    .await;
    let row = eval(
        &browser,
        "return document.querySelector('#task-list > li .ref-src').textContent;",
    )
    .await;
    assert!(row.as_str().unwrap().contains("many/img1999:1"), "{row}");
    // The row's log opens (nothing ran yet).
    click(&browser, "#task-list > li details.task-log > summary").await;
    wait_until(
        &browser,
        "log",
        "document.querySelector('#task-list > li .task-log-text').textContent.length > 0",
    )
    .await;

    // A cancel elsewhere: 2,000 events, and the page follows them to the end.
    let (status, body) = stack.post(&format!("/api/jobs/{id}/cancel"), &serde_json::json!({}));
    assert_eq!(status, 202, "{body}");
    wait_until(
        &browser,
        "cancelled count",
        "document.querySelector('#job-counts .count-cancelled .count-num')?.textContent === '2000'",
    )
    .await;
    wait_until(
        &browser,
        "status",
        "document.getElementById('job-status').classList.contains('status-cancelled')",
    )
    .await;
    wait_until(
        &browser,
        "finish time",
        "document.getElementById('job-finished').textContent !== '—'",
    )
    .await;
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_read_in_chinese_and_a_bad_namespace_is_said_once_on_its_field() {
    let stack = tokio::task::spawn_blocking(|| Stack::start(StackOptions::default()))
        .await
        .unwrap();
    let (_driver, browser) = chromium().await;
    sign_in_at(&browser, &format!("{}/", stack.api_url())).await;
    wait_shown(&browser, "#images").await;
    // Chinese, and the dark theme while at it: the text follows the language only.
    click(&browser, "#lang-toggle").await;
    wait_until(
        &browser,
        "zh",
        "document.documentElement.lang.startsWith('zh')",
    )
    .await;
    for _ in 0..3 {
        if eval(
            &browser,
            "return document.documentElement.dataset.themePref;",
        )
        .await
            == "dark"
        {
            break;
        }
        click(&browser, "#theme-toggle").await;
    }
    fill(&browser, "#images", "nginx:1.25\nLibrary/Nginx:1").await;
    click(&browser, "#submit").await;
    wait_until(
        &browser,
        "line error",
        "!document.getElementById('form-errors').hidden",
    )
    .await;
    let text = eval(
        &browser,
        "return document.getElementById('form-errors').textContent;",
    )
    .await;
    assert!(text.as_str().unwrap().contains("仓库名必须小写"), "{text}");
    let bg = eval(
        &browser,
        "return getComputedStyle(document.body).backgroundColor;",
    )
    .await;
    assert_ne!(
        bg.as_str(),
        Some("rgb(245, 246, 248)"),
        "the dark theme's background"
    );

    fill(&browser, "#images", "nginx:1.25\nredis:7").await;
    fill(&browser, "#namespace", "Team").await;
    click(&browser, "#submit").await;
    wait_until(
        &browser,
        "namespace error",
        "!document.getElementById('namespace-err').hidden",
    )
    .await;
    let field = eval(
        &browser,
        "return document.getElementById('namespace-err').textContent;",
    )
    .await;
    assert!(field.as_str().unwrap().contains("目标命名空间"), "{field}");
    let lines = eval(
        &browser,
        "return document.querySelectorAll('#form-errors li').length;",
    )
    .await;
    assert_eq!(lines, 0, "said once, on the field, not per line");
    browser.close().await.unwrap();
}

/// The ids of the jobs the Jobs page lists, once they are `want` (the page loads and
/// refreshes on its own time); fails with what it shows instead.
async fn wait_rows(browser: &Client, want: &[&str]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = eval(
            browser,
            "const t = document.getElementById('jobs-table');\
             if (t.getAttribute('aria-busy') === 'true') return null;\
             return [...document.querySelectorAll('#jobs-body tr')].map((r) => r.dataset.job);",
        )
        .await;
        if rows == serde_json::json!(want) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the Jobs page lists {rows}, not {want:?}; it says: {}",
            eval(
                browser,
                "return document.getElementById('view-jobs').innerText"
            )
            .await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn query_of(browser: &Client) -> String {
    let url = browser.current_url().await.unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_page_filters_pages_and_keeps_its_filters_in_a_shareable_address() {
    let (stack, ok, failed, zebra, newest) = tokio::task::spawn_blocking(|| {
        let stack = Stack::start(StackOptions {
            retry_count: 0,
            ..StackOptions::default()
        });
        let pushed = push_images(
            &stack.source,
            &[("ok/a", "1"), ("find/zebra", "1")],
            16 * 1024,
        );
        let host = stack.source_host();
        // One at a time, so they are created in this order: the list is newest first.
        let run = |image: String| {
            let id = stack.submit(&[image], "skip")["id"]
                .as_str()
                .unwrap()
                .to_owned();
            let done = stack.wait_job(&id, Duration::from_secs(60));
            (id, done["status"].as_str().unwrap().to_owned())
        };
        let (ok, status) = run(pushed[0].reference(&host));
        assert_eq!(status, "succeeded");
        let (failed, status) = run(format!("{}/ok/a:does-not-exist", stack.source.host()));
        assert_eq!(status, "failed");
        let (zebra, _) = run(pushed[1].reference(&host));
        let newest: Vec<String> = (0..2).map(|_| run(pushed[0].reference(&host)).0).collect();
        (stack, ok, failed, zebra, newest)
    })
    .await
    .unwrap();
    let (_driver, browser) = chromium().await;
    browser.set_window_size(1280, 900).await.unwrap();
    let base = stack.api_url();
    let first = [newest[1].as_str(), newest[0].as_str()];

    // The home page's recent jobs lead to the full list.
    sign_in_at(&browser, &format!("{base}/")).await;
    click(&browser, "#recent-all").await;
    wait_shown(&browser, "#view-jobs").await;
    assert_eq!(query_of(&browser).await, "/jobs?");

    // Two a page: older pages by the cursor, and back.
    browser.goto(&format!("{base}/jobs?limit=2")).await.unwrap();
    wait_rows(&browser, &first).await;
    click(&browser, "#jobs-older").await;
    wait_rows(&browser, &[&zebra, &failed]).await;
    // Back from a job opened on page 2 lands on page 2 again.
    click(&browser, &format!("#jobs-body tr[data-job='{failed}'] a")).await;
    wait_for(&browser, "#job-status.status-failed").await;
    browser.back().await.unwrap();
    wait_rows(&browser, &[&zebra, &failed]).await;
    click(&browser, "#jobs-older").await;
    wait_rows(&browser, &[&ok]).await;
    assert!(
        eval(
            &browser,
            "return document.getElementById('jobs-older').disabled"
        )
        .await
            == true,
        "the last page offers nothing older"
    );
    click(&browser, "#jobs-newer").await;
    wait_rows(&browser, &[&zebra, &failed]).await;
    click(&browser, "#jobs-newer").await;
    wait_rows(&browser, &first).await;

    // A status narrows the list and goes into the address, which a reload restores.
    click(&browser, "label.chip:has(input[value=failed])").await;
    wait_rows(&browser, &[&failed]).await;
    assert_eq!(query_of(&browser).await, "/jobs?status=failed&limit=2");
    browser.refresh().await.unwrap();
    wait_rows(&browser, &[&failed]).await;
    let checked =
        "return [...document.querySelectorAll('input[name=status]:checked')].map((b) => b.value)";
    assert_eq!(eval(&browser, checked).await, serde_json::json!(["failed"]));

    // The image text, typed: the address follows, a reload keeps the text and the rows.
    click(&browser, "#jobs-clear").await;
    wait_rows(&browser, &first).await;
    fill(&browser, "#jobs-q", "ZEBRA").await;
    wait_rows(&browser, &[&zebra]).await;
    assert_eq!(query_of(&browser).await, "/jobs?q=ZEBRA&limit=2");
    browser.refresh().await.unwrap();
    wait_rows(&browser, &[&zebra]).await;
    assert_eq!(
        eval(&browser, "return document.getElementById('jobs-q').value").await,
        "ZEBRA"
    );

    // Back returns to the filters before: typing only replaced the cleared entry.
    browser.back().await.unwrap();
    wait_rows(&browser, &[&failed]).await;
    assert_eq!(eval(&browser, checked).await, serde_json::json!(["failed"]));
    assert_eq!(
        eval(&browser, "return document.getElementById('jobs-q').value").await,
        ""
    );

    // Nothing matches: say so, and offer to clear the filters.
    fill(&browser, "#jobs-q", "no-such-image").await;
    wait_shown(&browser, "#jobs-empty").await;
    wait_rows(&browser, &[]).await;
    click(&browser, "#jobs-empty-clear").await;
    wait_rows(&browser, &first).await;
    assert_eq!(query_of(&browser).await, "/jobs?limit=2");

    // A row opens its job.
    fill(&browser, "#jobs-q", "zebra").await;
    wait_rows(&browser, &[&zebra]).await;
    click(&browser, &format!("#jobs-body tr[data-job='{zebra}'] a")).await;
    wait_for(&browser, "#job-status.status-succeeded").await;
    assert_eq!(query_of(&browser).await, format!("/jobs/{zebra}?"));
    drop(stack);
    browser.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statistics_page_charts_a_real_job_in_both_languages_and_themes() {
    let stack = tokio::task::spawn_blocking(|| {
        let stack = Stack::start(StackOptions {
            retry_count: 0,
            ..StackOptions::default()
        });
        let pushed = push_images(&stack.source, &[("ok/a", "1"), ("ok/b", "1")], 16 * 1024);
        let mut images: Vec<String> = pushed
            .iter()
            .map(|p| p.reference(&stack.source_host()))
            .collect();
        images.push(format!("{}/ok/a:does-not-exist", stack.source_host()));
        let job = stack.submit(&images, "skip")["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let done = stack.wait_job(&job, Duration::from_secs(120));
        assert_eq!(done["status"], "partial", "{done:#}");
        stack
    })
    .await
    .unwrap();
    let (_driver, browser) = chromium().await;
    sign_in_at(&browser, &format!("{}/stats", stack.api_url())).await;

    // The totals are the job's: two copied, the missing tag failed.
    let tile = |key: &str| {
        format!(r#"#view-stats:not([hidden]) #stats-totals:not([hidden]) [data-key="{key}"] dd"#)
    };
    let copied = wait_for(&browser, &tile("copied"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(copied, "2");
    let failed = wait_for(&browser, &tile("failed"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(failed, "1");
    let partial = wait_for(&browser, &tile("jobs-partial"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(partial, "1");

    // uPlot drew its canvases, with uPlot's stylesheet applied: nothing the CSP blocked.
    let canvases = browser
        .find_all(Locator::Css("#stats-charts .stats-chart canvas"))
        .await
        .unwrap();
    assert!(canvases.len() >= 3, "{} chart canvases", canvases.len());
    let drawn = eval(
        &browser,
        r##"return [...document.querySelectorAll("#stats-charts .stats-chart canvas")]
             .every((c) => c.width > 100 && c.height > 100);"##,
    )
    .await;
    assert_eq!(
        drawn,
        serde_json::json!(true),
        "every chart canvas has a size"
    );
    let styled = eval(
        &browser,
        r##"return getComputedStyle(document.querySelector("#stats-charts .u-over")).position;"##,
    )
    .await;
    assert_eq!(styled, "absolute", "uPlot.min.css is applied");

    // The failure's reason and image, the image linking to the jobs that hold it.
    let reasons = wait_for(&browser, "#stats-reasons-body tr")
        .await
        .text()
        .await
        .unwrap();
    assert!(reasons.contains("manifest unknown"), "{reasons}");
    let failing = wait_for(&browser, "#stats-failing-body a").await;
    let text = failing.text().await.unwrap();
    assert!(text.ends_with("ok/a:does-not-exist"), "{text}");
    let href = failing.attr("href").await.unwrap().unwrap_or_default();
    assert!(href.starts_with("/jobs?q="), "{href}");
    let registry = wait_for(&browser, "#stats-registries-body tr")
        .await
        .text()
        .await
        .unwrap();
    assert!(registry.contains("target"), "{registry}");

    // Chinese: the heading and the tiles follow, the charts are drawn again.
    click(&browser, "#lang-toggle").await;
    eval_until(
        &browser,
        r#"return document.getElementById("stats-title").textContent;"#,
        serde_json::json!("统计"),
    )
    .await;
    let label = wait_for(&browser, r#"#stats-totals [data-key="copied"] dt"#)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(label, "已复制");

    // Dark (auto, light, dark): the page's background changes and the charts are redrawn.
    let background = r#"return getComputedStyle(document.body).backgroundColor;"#;
    click(&browser, "#theme-toggle").await;
    eval_until(
        &browser,
        "return document.documentElement.dataset.theme ?? null;",
        serde_json::json!("light"),
    )
    .await;
    let light = eval(&browser, background).await;
    click(&browser, "#theme-toggle").await;
    eval_until(
        &browser,
        "return document.documentElement.dataset.theme ?? null;",
        serde_json::json!("dark"),
    )
    .await;
    let dark = eval(&browser, background).await;
    assert_ne!(light, dark, "the dark theme changes the background");
    assert_eq!(dark, "rgb(15, 18, 23)", "the dark palette's --bg");
    let canvases = browser
        .find_all(Locator::Css("#stats-charts .stats-chart canvas"))
        .await
        .unwrap();
    assert!(
        canvases.len() >= 3,
        "{} chart canvases in the dark",
        canvases.len()
    );
    browser.close().await.unwrap();
}
