//! A `chromedriver` (Debian's chromium-driver) on a loopback port, driving Debian's headless
//! chromium, for the browser tests. A missing package is a panic naming it, never a skip.

use std::process::Command;

use tempfile::TempDir;

use crate::process::ManagedChild;
use crate::{require_tool, start_with_retries, wait_ready};

/// A running chromedriver; killed and reaped on drop.
pub struct Chromedriver {
    port: u16,
    // Field order: the child is killed before its directory is removed.
    _child: ManagedChild,
    dir: TempDir,
}

impl Chromedriver {
    pub fn start() -> Chromedriver {
        let driver = require_tool("chromedriver", "chromium-driver");
        require_tool("chromium", "chromium");
        start_with_retries("chromedriver", |port| {
            let dir = tempfile::Builder::new()
                .prefix("test-chromedriver-")
                .tempdir()
                .map_err(|e| e.to_string())?;
            let mut cmd = Command::new(&driver);
            cmd.arg(format!("--port={port}"))
                .arg("--allowed-ips=127.0.0.1");
            let mut child =
                ManagedChild::spawn("chromedriver", cmd, &dir.path().join("chromedriver.log"));
            let status = format!("http://127.0.0.1:{port}/status");
            wait_ready(&mut child, port, || ureq::get(&status).call().is_ok())?;
            Ok(Chromedriver {
                port,
                _child: child,
                dir,
            })
        })
    }

    /// The WebDriver endpoint.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// W3C capabilities for a headless chromium with its own profile folder. `--no-sandbox`:
    /// tests run as root in CI, where chromium refuses its sandbox.
    pub fn capabilities(&self) -> serde_json::Map<String, serde_json::Value> {
        let profile = self.dir.path().join("profile");
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": require_tool("chromium", "chromium"),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--window-size=1280,900",
                    "--lang=en-US",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        match caps {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }
}
