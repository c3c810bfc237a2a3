//! Registries added through the api: admin CRUD, file registries read-only, passwords sealed in
//! Redis with the configured key and never answered, logged or stored in the clear; a stored
//! registry tested against a real `docker-registry` with htpasswd. Real Redis, the real router.

mod support;

use axum::http::StatusCode;
use docker_sync_common::config::sealing::SealingKeys;
use docker_sync_common::config::stored::RegistryStore;
use docker_sync_tests::{dump_keys, Registry};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use support::App;

const KEY_ONE: &str = "test-sealing-key-one-0123456789abcdefghijkl";
const KEY_TWO: &str = "test-sealing-key-two-0123456789abcdefghijkl";
const SECRET: &str = "Stored-Registry-Pa55-value";
const NEW_SECRET: &str = "Changed-Registry-Pa55-value";
const REG_USER: &str = "sync-bot";

const FILE_YAML: &str = "registries:\n  file-reg:\n    url: \"http://127.0.0.1:9\"\n";

struct Keyed {
    app: App,
    _dir: tempfile::TempDir,
}

/// An app whose `--secret-key-file` holds `key_text` (None: no key at all).
async fn keyed_app(key_text: Option<&str>) -> Keyed {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret-key");
    let path_arg = path.to_str().unwrap().to_owned();
    let app = match key_text {
        Some(text) => {
            std::fs::write(&path, text).unwrap();
            support::app(FILE_YAML, &["--secret-key-file", &path_arg]).await
        }
        None => support::app(FILE_YAML, &[]).await,
    };
    Keyed { app, _dir: dir }
}

fn vault(url: &str, password: Option<&str>) -> Value {
    let mut body = json!({
        "name": "vault",
        "type": "generic",
        "url": url,
        "username": REG_USER,
        "namespace": "mirror",
        "description": "added through the api",
    });
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    body
}

/// The password the catalog opens for `name`, as a worker would get it.
async fn opened_password(app: &App, name: &str) -> Option<String> {
    let config = app.state.catalog.current().await.unwrap();
    let registry = config
        .registries
        .get(name)
        .expect("the registry is in force");
    registry
        .password
        .as_ref()
        .map(|p| p.expose_secret().to_owned())
}

fn assert_nowhere_in_redis(app: &App, secrets: &[&str]) {
    let keys = dump_keys(&app.redis.url(), "t");
    assert!(keys.iter().any(|(k, _)| k == "t:registries"), "{keys:?}");
    for (key, dump) in keys {
        for secret in secrets {
            assert!(
                !dump.contains(secret),
                "{key} holds a registry password in the clear"
            );
        }
    }
}

#[tokio::test]
async fn admins_manage_stored_registries_and_passwords_stay_sealed() {
    let Keyed { app, _dir } = keyed_app(Some(KEY_ONE)).await;
    let admin = app.login("boss").await;
    let operator = app.login("op").await;
    let url = "http://127.0.0.1:9";

    // Only admins change registries.
    let r = app
        .post("/api/registries", &operator, vault(url, Some(SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // Checked like a registries.yaml entry, with the reason.
    let bad = json!({ "name": "h", "type": "harbor", "url": "harbor.example.com" });
    let r = app.post("/api/registries", &admin, bad).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(
        r.body["error"].as_str().unwrap().contains("`project`"),
        "{}",
        r.text
    );
    let mut bad_name = vault(url, None);
    bad_name["name"] = json!("Bad Name");
    let r = app.post("/api/registries", &admin, bad_name).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("not a valid registry name"), "{}", r.text);
    let mut taken = vault(url, None);
    taken["name"] = json!("file-reg");
    let r = app.post("/api/registries", &admin, taken).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Created: the answer says a password is set and never shows it.
    let r = app
        .post("/api/registries", &admin, vault(url, Some(SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["has_password"], true);
    assert_eq!(r.body["source"], "api");
    assert_eq!(r.body["updated_by"], "boss");
    assert!(!r.text.contains(SECRET), "{}", r.text);
    let r = app
        .post("/api/registries", &admin, vault(url, Some(SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    // Everyone logged in sees the list: both sources, no password.
    let viewer = app.login("view").await;
    let r = app.get("/api/registries", &viewer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sources: Vec<(String, String)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_owned(),
                v["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        sources,
        [
            ("file-reg".to_owned(), "file".to_owned()),
            ("vault".to_owned(), "api".to_owned())
        ]
    );
    assert!(!r.text.contains(SECRET));
    assert_eq!(
        opened_password(&app, "vault").await.as_deref(),
        Some(SECRET)
    );
    assert_nowhere_in_redis(&app, &[SECRET]);

    // Editing other fields keeps the stored password; a new one replaces it; clearing removes it.
    let mut edit = vault(url, None);
    edit.as_object_mut().unwrap().remove("name");
    edit["description"] = json!("edited");
    let r = app.put("/api/registries/vault", &admin, edit.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.body["description"].as_str(),
            r.body["has_password"].as_bool()
        ),
        (Some("edited"), Some(true))
    );
    assert_eq!(
        opened_password(&app, "vault").await.as_deref(),
        Some(SECRET)
    );

    let mut change = edit.clone();
    change["password"] = json!(NEW_SECRET);
    let r = app.put("/api/registries/vault", &admin, change).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(NEW_SECRET));
    assert_eq!(
        opened_password(&app, "vault").await.as_deref(),
        Some(NEW_SECRET)
    );
    assert_nowhere_in_redis(&app, &[SECRET, NEW_SECRET]);

    let mut clear = edit.clone();
    clear["clear_password"] = json!(true);
    let r = app.put("/api/registries/vault", &admin, clear).await;
    assert_eq!(r.body["has_password"], false, "{}", r.text);
    assert_eq!(opened_password(&app, "vault").await, None);

    // A rename is refused; file registries are read-only; a viewer cannot edit.
    let mut rename = edit.clone();
    rename["name"] = json!("other");
    let r = app.put("/api/registries/vault", &admin, rename).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = app
        .put("/api/registries/file-reg", &admin, edit.clone())
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.text.contains("registries.yaml"), "{}", r.text);
    let r = app.delete("/api/registries/file-reg", &admin).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = app
        .put("/api/registries/vault", &viewer, edit.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = app.put("/api/registries/nope", &admin, edit).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Deleted: gone from the list and from jobs.
    let r = app.delete("/api/registries/vault", &admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
    let r = app.get("/api/registries/vault", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = app.delete("/api/registries/vault", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Audited, without the passwords.
    let r = app.get("/api/audit?action=registry", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let actions: Vec<&str> = r.text.matches("registry.").collect();
    assert!(actions.len() >= 5, "{}", r.text);
    for action in ["registry.create", "registry.update", "registry.delete"] {
        assert!(r.text.contains(action), "{action} missing: {}", r.text);
    }
    assert!(!r.text.contains(SECRET) && !r.text.contains(NEW_SECRET));
}

#[tokio::test]
async fn a_password_needs_a_key_and_opens_only_with_the_key_it_was_sealed_with() {
    // No key: a registry without a password can be stored, one with a password cannot.
    let Keyed { app, _dir } = keyed_app(None).await;
    let admin = app.login("boss").await;
    let r = app
        .post(
            "/api/registries",
            &admin,
            vault("http://127.0.0.1:9", Some(SECRET)),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("DOCKER_SYNC_SECRET_KEY_FILE"), "{}", r.text);
    let r = app
        .post("/api/registries", &admin, vault("http://127.0.0.1:9", None))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // A record sealed with key one, read by an api holding key two: shown with the reason,
    // refused as a job target, never used without its password.
    let Keyed { app, _dir } = keyed_app(Some(KEY_TWO)).await;
    let one = SealingKeys::parse(KEY_ONE, "test").unwrap();
    let store = RegistryStore::new(
        app.state.pool.clone(),
        app.state.keys.clone(),
        Some(one.clone().into()),
    );
    let mut fields = docker_sync_common::config::RegistryFields {
        url: "http://127.0.0.1:9".into(),
        username: Some(REG_USER.into()),
        password: Some(SecretString::from(SECRET.to_owned())),
        ..Default::default()
    };
    fields.namespace = Some("mirror".into());
    store
        .create("sealed-elsewhere", fields, "test")
        .await
        .unwrap();

    let admin = app.login("boss").await;
    let r = app.get("/api/registries/sealed-elsewhere", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let problem = r.body["problem"].as_str().expect("a problem is reported");
    assert!(
        problem.contains(one.ids()[0]),
        "names the key it was sealed with: {problem}"
    );
    let job = json!({ "images": "alpine:3.19", "target": "sealed-elsewhere" });
    let r = app.post("/api/jobs", &admin, job).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("cannot be used"), "{}", r.text);
    let r = app
        .post("/api/registries/sealed-elsewhere/test", &admin, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // Keeping a password this api cannot open is refused rather than silently dropped.
    let edit = json!({ "type": "generic", "url": "http://127.0.0.1:9", "namespace": "mirror" });
    let r = app
        .put("/api/registries/sealed-elsewhere", &admin, edit)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("cannot be kept"), "{}", r.text);
}

#[tokio::test]
async fn after_a_rotation_old_records_open_and_reseal_moves_them_to_the_new_key() {
    // The new key first, the old one below.
    let Keyed { app, _dir } = keyed_app(Some(&format!("{KEY_TWO}\n{KEY_ONE}\n"))).await;
    let one = SealingKeys::parse(KEY_ONE, "test").unwrap();
    let two = SealingKeys::parse(KEY_TWO, "test").unwrap();
    let (id_one, id_two) = (one.ids()[0].to_owned(), two.ids()[0].to_owned());
    let old = RegistryStore::new(
        app.state.pool.clone(),
        app.state.keys.clone(),
        Some(one.into()),
    );
    let fields = docker_sync_common::config::RegistryFields {
        url: "http://127.0.0.1:9".into(),
        password: Some(SecretString::from(SECRET.to_owned())),
        ..Default::default()
    };
    old.create("old-key", fields, "test").await.unwrap();
    assert_eq!(
        opened_password(&app, "old-key").await.as_deref(),
        Some(SECRET)
    );

    let admin = app.login("boss").await;
    let usage = app.get("/api/secret-key", &admin).await;
    assert_eq!(usage.status, StatusCode::OK, "{}", usage.text);
    assert_eq!(usage.body["key_ids"], json!([id_two, id_one]));
    assert_eq!(usage.body["passwords_by_key"], json!({ id_one.clone(): 1 }));

    let r = app.post("/api/secret-key/reseal", &admin, json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["resealed"], json!(["old-key"]), "{}", r.text);
    assert_eq!(r.body["failed"], json!([]));
    let usage = app.get("/api/secret-key", &admin).await;
    assert_eq!(usage.body["passwords_by_key"], json!({ id_two: 1 }));

    // The old key can go: the new one alone opens the record.
    let new_only = RegistryStore::new(
        app.state.pool.clone(),
        app.state.keys.clone(),
        Some(two.into()),
    );
    let stored = new_only.get("old-key").await.unwrap().unwrap();
    let password = stored
        .config
        .expect("opens with the new key")
        .password
        .unwrap();
    assert_eq!(password.expose_secret(), SECRET);
    assert_nowhere_in_redis(&app, &[SECRET]);
}

#[tokio::test]
async fn a_stored_registry_is_tested_with_its_sealed_credentials() {
    let registry = tokio::task::spawn_blocking(|| Registry::start_with_auth(REG_USER, SECRET))
        .await
        .unwrap();
    let Keyed { app, _dir } = keyed_app(Some(KEY_ONE)).await;
    let admin = app.login("boss").await;
    let url = registry.url();
    let r = app
        .post("/api/registries", &admin, vault(&url, Some(SECRET)))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    let test = || async {
        let r = app
            .post("/api/registries/vault/test", &admin, json!({}))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert!(
            !r.text.contains(SECRET) && !r.text.contains(NEW_SECRET),
            "{}",
            r.text
        );
        r.body
    };
    let report = test().await;
    assert_eq!(report["ok"], true, "{report:#}");

    // An edit without a password keeps the working one.
    let edit = json!({ "type": "generic", "url": url, "username": REG_USER, "namespace": "mirror", "description": "x" });
    let r = app.put("/api/registries/vault", &admin, edit.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(test().await["ok"], true);

    // A wrong password fails at the authentication step.
    let mut wrong = edit;
    wrong["password"] = json!(NEW_SECRET);
    let r = app.put("/api/registries/vault", &admin, wrong).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let report = test().await;
    assert_eq!(report["ok"], false, "{report:#}");
    let last = report["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["step"].as_str(), last["ok"].as_bool()),
        (Some("auth"), Some(false)),
        "{report:#}"
    );
}

#[tokio::test]
async fn a_stored_registrys_proxy_password_is_sealed_shown_never_and_kept_on_edit() {
    const PROXY_SECRET: &str = "Proxy-Pa55-kept-sealed";
    let keyed = keyed_app(Some(KEY_ONE)).await;
    let app = &keyed.app;
    let admin = app.login("boss").await;
    let mut body = vault("127.0.0.1:9", Some(SECRET));
    body["insecure"] = json!(true);
    body["proxy"] = json!(format!(
        "http://corp:{PROXY_SECRET}@proxy.corp.example:3128"
    ));
    body["no_proxy"] = json!("auth.corp.example");
    let r = app.post("/api/registries", &admin, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["proxy"], "http://corp@proxy.corp.example:3128");
    assert_eq!(r.body["proxy_has_password"], true);
    assert_eq!(r.body["no_proxy"], "auth.corp.example");
    assert!(!r.text.contains(PROXY_SECRET));
    assert_nowhere_in_redis(app, &[SECRET, PROXY_SECRET]);

    let opened = || async {
        let config = app.state.catalog.current().await.unwrap();
        let proxy = config.registries["vault"].proxy.clone().expect("a proxy");
        (
            proxy.password().map(|p| p.expose_secret().to_owned()),
            proxy.no_proxy.clone(),
        )
    };
    assert_eq!(
        opened().await,
        (
            Some(PROXY_SECRET.to_owned()),
            Some("auth.corp.example".into())
        )
    );

    // An edit that gives the url as it was shown keeps the proxy password.
    body["proxy"] = json!("http://corp@proxy.corp.example:3128");
    body.as_object_mut().unwrap().remove("password");
    body.as_object_mut().unwrap().remove("name");
    let r = app.put("/api/registries/vault", &admin, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["proxy_has_password"], true, "{}", r.body);
    assert_eq!(opened().await.0.as_deref(), Some(PROXY_SECRET));

    // Another proxy without a password has none; no proxy removes it.
    body["proxy"] = json!("http://corp@other-proxy.example:3128");
    let r = app.put("/api/registries/vault", &admin, body.clone()).await;
    assert_eq!(r.body["proxy_has_password"], false, "{}", r.body);
    body["proxy"] = Value::Null;
    body["no_proxy"] = Value::Null;
    let r = app.put("/api/registries/vault", &admin, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("proxy").is_none(), "{}", r.body);

    // A proxy that is not a url, and no_proxy alone, are refused with the reason.
    body["proxy"] = json!("socks5://corp:pw@proxy:1080");
    let r = app.put("/api/registries/vault", &admin, body.clone()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.text.contains("http://"), "{}", r.text);
    assert!(!r.text.contains("corp:pw"), "{}", r.text);
    body["proxy"] = Value::Null;
    body["no_proxy"] = json!("auth.corp.example");
    let r = app.put("/api/registries/vault", &admin, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.text.contains("no_proxy"), "{}", r.text);
}

#[tokio::test]
async fn a_stored_password_never_follows_the_registry_to_a_new_host() {
    let keyed = keyed_app(Some(KEY_ONE)).await;
    let app = &keyed.app;
    let admin = app.login("boss").await;
    let r = app
        .post(
            "/api/registries",
            &admin,
            vault("http://127.0.0.1:5999", Some(SECRET)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    // The url moves to another host and the form gives no password: refused, nothing changed.
    let moved = app
        .put(
            "/api/registries/vault",
            &admin,
            vault("127.0.0.2:5999", None),
        )
        .await;
    assert_eq!(moved.status, StatusCode::BAD_REQUEST, "{}", moved.body);
    assert!(
        moved.body["error"]
            .as_str()
            .unwrap()
            .contains("give the password again"),
        "{}",
        moved.body
    );
    let now = app.get("/api/registries/vault", &admin).await;
    assert_eq!(now.body["url"], "http://127.0.0.1:5999");
    assert_eq!(opened_password(app, "vault").await.as_deref(), Some(SECRET));

    // The same host (another scheme) keeps it; a new host with the password given is fine.
    let same = app
        .put(
            "/api/registries/vault",
            &admin,
            vault("127.0.0.1:5999", None),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(opened_password(app, "vault").await.as_deref(), Some(SECRET));
    let given = app
        .put(
            "/api/registries/vault",
            &admin,
            vault("127.0.0.2:5999", Some(NEW_SECRET)),
        )
        .await;
    assert_eq!(given.status, StatusCode::OK, "{}", given.body);
    assert_eq!(
        opened_password(app, "vault").await.as_deref(),
        Some(NEW_SECRET)
    );
    let audit = app.get("/api/audit?action=registry.update", &admin).await;
    let details: Vec<&Value> = audit.body["entries"]
        .as_array()
        .map(|e| e.iter().map(|x| &x["detail"]).collect())
        .unwrap_or_default();
    assert!(
        details.iter().any(|d| d["url_host_changed"] == true),
        "the audit says the host changed: {}",
        audit.body
    );
}
