//! Shared by the browser test files: a chromium session and the few WebDriver steps they are
//! written in (wait, fill, click, choose, run a script, sign in and out).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use docker_sync_tests::{Chromedriver, Stack, StackOptions, ADMIN_PASSWORD, ADMIN_USER};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::Value;

/// How long any step waits for the page: generous, because two cores also run the stack.
const PATIENCE: Duration = Duration::from_secs(60);

/// The stack with no worker, for a page test whose jobs need not run: started off the async
/// runtime, as starting it blocks.
pub async fn stack_without_workers() -> Stack {
    tokio::task::spawn_blocking(|| {
        Stack::start(StackOptions {
            workers: 0,
            ..StackOptions::default()
        })
    })
    .await
    .unwrap()
}

/// A chromium session; keep the driver as long as the session (dropping it stops chromedriver).
pub async fn chromium() -> (Chromedriver, Client) {
    let driver = tokio::task::spawn_blocking(Chromedriver::start)
        .await
        .unwrap();
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(driver.capabilities())
        .connect(&driver.url())
        .await
        .expect("a chromium session");
    (driver, browser)
}

/// Waits for the first element matching `css`, failing with the page's text if it never comes.
pub async fn wait_for(browser: &Client, css: &str) -> Element {
    match browser
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
    {
        Ok(el) => el,
        Err(e) => {
            let text = match browser.find(Locator::Css("body")).await {
                Ok(body) => body.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            panic!("`{css}` never appeared ({e}); the page says:\n{text}");
        }
    }
}

/// Waits for `css` to be shown as well: every view's markup is in the page from the start,
/// hidden, and a dialog's field can be found a moment before it can be typed into.
pub async fn wait_shown(browser: &Client, css: &str) -> Element {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let el = wait_for(browser, css).await;
        if el.is_displayed().await.unwrap_or(false) {
            return el;
        }
        assert!(
            Instant::now() < deadline,
            "`{css}` is there but never shown"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn shown(browser: &Client, css: &str) -> bool {
    match browser.find(Locator::Css(css)).await {
        Ok(el) => el.is_displayed().await.unwrap_or(false),
        Err(_) => false,
    }
}

pub async fn fill(browser: &Client, css: &str, value: &str) {
    let el = wait_shown(browser, css).await;
    el.clear()
        .await
        .unwrap_or_else(|e| panic!("clearing `{css}`: {e}"));
    el.send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
}

pub async fn click(browser: &Client, css: &str) {
    wait_shown(browser, css)
        .await
        .click()
        .await
        .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
}

/// Selects `value` in the `<select>` at `css`, once that option has been filled in.
pub async fn choose(browser: &Client, css: &str, value: &str) {
    wait_for(browser, &format!(r#"{css} option[value="{value}"]"#)).await;
    wait_shown(browser, css)
        .await
        .select_by_value(value)
        .await
        .unwrap_or_else(|e| panic!("choosing {value} in `{css}`: {e}"));
}

/// Runs `script` (a function body; `arguments` are empty) and returns what it returned.
pub async fn eval(browser: &Client, script: &str) -> Value {
    browser
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("running `{script}`: {e}"))
}

/// Runs an async script: its last argument is the callback to call with the answer.
pub async fn eval_async(browser: &Client, script: &str) -> Value {
    browser
        .execute_async(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("running `{script}`: {e}"))
}

/// Polls `script` (a JS expression) until it is true, failing with what the page says.
pub async fn wait_until(browser: &Client, what: &str, script: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if eval(browser, &format!("return ({script});")).await == Value::Bool(true) {
            return;
        }
        if Instant::now() >= deadline {
            let body = eval(browser, "return document.body.innerText").await;
            panic!("{what}: `{script}` never held; the page says:\n{body}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Polls `script` (a function body) until it answers `want`, failing with the last answer.
pub async fn eval_until(browser: &Client, script: &str, want: Value) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let got = eval(browser, script).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "`{script}` answers {got}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn sign_in_as(browser: &Client, url: &str, user: &str, password: &str) {
    browser.goto(url).await.unwrap();
    fill(browser, "#login-username", user).await;
    fill(browser, "#login-password", password).await;
    click(browser, "#login-submit").await;
}

/// Signs in as the stack's admin on a deep link, which lands back on it.
pub async fn sign_in_at(browser: &Client, url: &str) {
    sign_in_as(browser, url, ADMIN_USER, ADMIN_PASSWORD).await;
}

pub async fn sign_out(browser: &Client) {
    click(browser, "#user-button").await;
    click(browser, "#logout").await;
    wait_shown(browser, "#view-login").await;
}
