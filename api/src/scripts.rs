//! Batch scripts: the copies of a [`Plan`] as a POSIX shell script that runs `skopeo copy` once
//! per image, for people who cannot (or would rather not) run the service.
//!
//! The script uses the same target names and the same skopeo arguments as the workers: both are
//! a [`CopySpec`]. It holds no password: every registry with credentials in the config
//! takes them from environment variables (`DSYNC_<REGISTRY>_USERNAME`, defaulting to the
//! configured user, and `DSYNC_<REGISTRY>_PASSWORD`), and `skopeo login --password-stdin` writes
//! them into a private authfile that lives as long as the run. Every value that comes from the
//! request or the config is single-quoted with [`quote`] or, in comments, stripped of control
//! characters. Pure: the output depends only on the plan and the config, so it is unit-tested here.

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write;

use docker_sync_common::config::{Config, RegistryConfig};
use docker_sync_common::registry::copy::{
    image_arg, login_tls_option, Arg, CopyEnd, CopySpec, AUTHFILE_OPTION,
};
use docker_sync_common::registry::Transport;

use crate::jobs::plan::{Plan, PlannedTask};

/// `Content-Type` of a script response.
pub const CONTENT_TYPE: &str = "text/x-shellscript; charset=utf-8";

/// Quotes `s` as one literal word for a POSIX shell: single quotes, a `'` inside written as
/// `'\''`. A value with `$` or a backquote (a Harbor robot account is `robot$name`) is
/// double-quoted instead, with `\` before each `$`, `` ` ``, `"` and `\`: the same word, and
/// shellcheck does not take it for an expansion that was meant to happen (SC2016).
pub fn quote(s: &str) -> String {
    if s.contains(['$', '`']) {
        let mut out = String::with_capacity(s.len() + 8);
        out.push('"');
        for c in s.chars() {
            if matches!(c, '$' | '`' | '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
        out
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `docker-sync-<registry>.sh`, with anything but ASCII letters, digits, `.`, `_` and `-` in
/// the name replaced by `_`, so the name is a safe file name and header value.
pub fn file_name(registry: &str) -> String {
    let name: String = registry
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("docker-sync-{}.sh", name.trim_start_matches('.'))
}

/// The environment variables a registry's credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialVars {
    pub username: String,
    pub password: String,
}

/// The variables of every configured registry: `DSYNC_` and the name in uppercase with every
/// other character than an ASCII letter or digit as `_` (`my-harbor`: `DSYNC_MY_HARBOR_PASSWORD`).
/// Names that would collide get `_2`, `_3`, … in the order of the registry names, so a
/// registry's variables are the same in every script of one config.
pub fn credential_vars(config: &Config) -> BTreeMap<&str, CredentialVars> {
    let mut used = HashSet::new();
    let mut vars = BTreeMap::new();
    for name in config.registries.keys() {
        let upper: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        let base = format!("DSYNC_{upper}");
        let mut prefix = base.clone();
        let mut n = 2;
        while !used.insert(prefix.clone()) {
            prefix = format!("{base}_{n}");
            n += 1;
        }
        vars.insert(
            name.as_str(),
            CredentialVars {
                username: format!("{prefix}_USERNAME"),
                password: format!("{prefix}_PASSWORD"),
            },
        );
    }
    vars
}

/// A registry the script logs in to.
struct Login<'a> {
    name: &'a str,
    /// The hosts to log in to: the image references' spelling, which is what skopeo looks up in
    /// the authfile (the worker keys its authfile the same way).
    hosts: Vec<String>,
    default_user: &'a str,
    transport: Transport,
    vars: CredentialVars,
}

/// The whole script. `plan` must come from [`crate::jobs::plan::plan`] with the same `config`.
pub fn render(plan: &Plan, config: &Config) -> String {
    let vars = credential_vars(config);
    let target = config.registries.get(&plan.registry);
    // As the image references spell it: the worker's authfile is keyed by that.
    let target_host = plan
        .tasks
        .first()
        .map(|t| t.target.registry())
        .or(target.map(|r| r.host.as_str()))
        .unwrap_or("");
    let target_transport = Transport::for_registry(target, config.tls_verify_disabled);

    // Registries with credentials, the sources' first, then the target's. A source on the
    // target's host is read with the target's credentials: the worker's authfile holds one entry
    // per host and writes the target's last.
    let mut logins: Vec<Login> = Vec::new();
    for task in &plan.tasks {
        let host = task.source.registry();
        if host == target_host {
            continue;
        }
        if let Some((name, reg)) = config.registry_for_host(host) {
            push_login(&mut logins, &vars, name, reg, host);
        }
    }
    if let Some(reg) = target {
        push_login(&mut logins, &vars, &plan.registry, reg, target_host);
    }

    let mut s = String::new();
    header(&mut s, plan, target_host, &logins);
    proxy_notes(&mut s, plan, config);
    s.push_str("set -eu\n\n");
    s.push_str(
        "if ! command -v skopeo >/dev/null 2>&1; then\n\
         \x20   echo 'error: skopeo is not installed (Debian: apt-get install skopeo)' >&2\n\
         \x20   exit 2\n\
         fi\n\n",
    );
    credential_checks(&mut s, &logins);
    s.push_str(AUTHFILE_SETUP);
    let _ = writeln!(
        s,
        "total={}\ncopied=0\nfailed=0\nfailed_images=''\n",
        plan.tasks.len()
    );
    logins_section(&mut s, &logins);
    copies(&mut s, plan, config, target_transport);
    s
}

fn push_login<'a>(
    logins: &mut Vec<Login<'a>>,
    vars: &BTreeMap<&str, CredentialVars>,
    name: &'a str,
    reg: &'a RegistryConfig,
    host: &str,
) {
    // The worker uses credentials only when both are configured.
    let (Some(user), Some(_)) = (reg.username.as_deref(), reg.password.as_ref()) else {
        return;
    };
    let Some(vars) = vars.get(name) else { return };
    match logins.iter_mut().find(|l| l.name == name) {
        Some(login) => {
            if !login.hosts.iter().any(|h| h == host) {
                login.hosts.push(host.to_owned());
            }
        }
        None => logins.push(Login {
            name,
            hosts: vec![host.to_owned()],
            default_user: user,
            transport: reg.transport(),
            vars: vars.clone(),
        }),
    }
}

/// Registries the service reaches through a proxy of their own: the script cannot set it (its
/// password stays in the service), so it says which to export.
fn proxy_notes(s: &mut String, plan: &Plan, config: &Config) {
    let mut proxied: BTreeMap<&str, &str> = BTreeMap::new();
    let target = config
        .registries
        .get(&plan.registry)
        .map(|r| (plan.registry.as_str(), r));
    let sources = plan
        .tasks
        .iter()
        .filter_map(|t| config.registry_for_host(t.source.registry()));
    for (name, reg) in target.into_iter().chain(sources) {
        if let Some(proxy) = &reg.proxy {
            proxied.insert(name, proxy.shown());
        }
    }
    if proxied.is_empty() {
        return;
    }
    s.push_str("#\n# The service reaches these registries through a proxy of their own; export\n# HTTPS_PROXY and HTTP_PROXY (and NO_PROXY for the other side) the same way first:\n");
    for (name, shown) in proxied {
        let _ = writeln!(s, "#   {}: {}", comment(name), comment(shown));
    }
    s.push('\n');
}

fn header(s: &mut String, plan: &Plan, target_host: &str, logins: &[Login]) {
    let count = plan.tasks.len();
    let images = if count == 1 { "image" } else { "images" };
    let namespace = if plan.namespace.is_empty() {
        "(none)".to_owned()
    } else {
        comment(&plan.namespace)
    };
    s.push_str("#!/bin/sh\n");
    let _ = writeln!(
        s,
        "# Generated by docker-image-sync {} (POST /api/scripts).",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(s, "#");
    let _ = writeln!(
        s,
        "# Copies {count} {images} into registry {} ({}), namespace {namespace},",
        comment(&plan.registry),
        comment(target_host),
    );
    let _ = writeln!(
        s,
        "# replacement level {}, under the same names and with the same skopeo flags as the",
        plan.replace_level
    );

    s.push_str(
        "# service's workers. Unlike the service it does not check digests first: every image is\n\
         # copied (skopeo does not upload layers the target already has).\n\
         #\n\
         # Needs skopeo. Exit status: 0 when every image was copied, 1 when any failed, 2 when\n\
         # something is missing before the first copy.\n",
    );
    if let Some(platform) = &plan.platform {
        let _ = writeln!(
            s,
            "#\n# Platform {} only: skopeo copies that image out of each multi-arch index, unchanged,\n\
             # so its target digest is that platform's manifest digest, not the source's index digest.",
            comment(&platform.to_string())
        );
    }
    if logins.is_empty() {
        s.push_str("#\n# No registry of this script has credentials configured: all access is anonymous.\n");
    } else {
        s.push_str("#\n# Credentials come from the environment, never from this file:\n");
        for login in logins {
            let _ = writeln!(
                s,
                "#   {:<32} password of registry {} (required)",
                login.vars.password,
                comment(login.name)
            );
            let _ = writeln!(
                s,
                "#   {:<32} its user name (default: {})",
                login.vars.username,
                comment(login.default_user)
            );
        }
        let passwords: Vec<&str> = logins.iter().map(|l| l.vars.password.as_str()).collect();
        let _ = writeln!(
            s,
            "# Run:  export {}   (from your secret store)\n#       sh {}",
            passwords.join(" "),
            file_name(&plan.registry)
        );
    }
    if !plan.dropped.is_empty() {
        s.push_str("#\n# Lines of the list that are not copied:\n");
        for d in &plan.dropped {
            let _ = writeln!(
                s,
                "#   line {}: {} ({})",
                d.line,
                comment(&d.image),
                comment(&d.reason)
            );
        }
    }
    s.push('\n');
}

fn credential_checks(s: &mut String, logins: &[Login]) {
    if logins.is_empty() {
        return;
    }
    s.push_str("# Every variable is checked before anything runs, and all missing ones are named.\nmissing=0\n");
    for login in logins {
        let var = &login.vars.password;
        let _ = writeln!(
            s,
            "if [ -z \"${{{var}:-}}\" ]; then\n    printf '%s\\n' {} >&2\n    missing=1\nfi",
            quote(&format!(
                "error: set {var} to the password of registry {} ({})",
                login.name,
                login.hosts.join(", ")
            ))
        );
    }
    s.push_str("if [ \"$missing\" -ne 0 ]; then\n    exit 2\nfi\n");
    for login in logins {
        let var = &login.vars.username;
        let _ = writeln!(
            s,
            "if [ -z \"${{{var}:-}}\" ]; then\n    {var}={}\nfi",
            quote(login.default_user)
        );
    }
    s.push('\n');
}

const AUTHFILE_SETUP: &str = r#"# A private authfile for this run only (mode 0600, removed on exit): skopeo uses the logins
# below and nothing from your own ~/.docker/config.json or containers auth.json.
umask 077
AUTHFILE=$(mktemp)
trap 'rm -f "$AUTHFILE"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
printf '{"auths": {}}\n' >"$AUTHFILE"

"#;

fn logins_section(s: &mut String, logins: &[Login]) {
    if logins.is_empty() {
        return;
    }
    s.push_str(
        r#"login_failed=''
# login REGISTRY HOST USERNAME PASSWORD [OPTION...]: `skopeo login` into the authfile. The
# password goes through a pipe from the shell's builtin printf: it is never in a process's argv.
login() {
    registry=$1
    host=$2
    user=$3
    password=$4
    shift 4
    if printf '%s' "$password" | skopeo login --authfile "$AUTHFILE" --username "$user" --password-stdin "$@" "$host" >/dev/null; then
        printf 'logged in to %s (%s) as %s\n' "$registry" "$host" "$user"
    else
        printf 'error: login to %s (%s) as %s failed\n' "$registry" "$host" "$user" >&2
        login_failed="$login_failed $registry ($host)"
    fi
    password=''
}

"#,
    );
    for login in logins {
        for host in &login.hosts {
            let mut line = format!(
                "login {} {} \"${}\" \"${}\"",
                quote(login.name),
                quote(host),
                login.vars.username,
                login.vars.password
            );
            if let Some(option) = login_tls_option(login.transport) {
                line.push(' ');
                line.push_str(option);
            }
            s.push_str(&line);
            s.push('\n');
        }
    }
    let unset: Vec<&str> = logins.iter().map(|l| l.vars.password.as_str()).collect();
    let _ = writeln!(
        s,
        "# The copies need the authfile only.\nunset {}",
        unset.join(" ")
    );
    s.push_str(
        r#"if [ -n "$login_failed" ]; then
    printf '\n0 copied, %d failed: no image was copied because a login failed:%s\n' "$total" "$login_failed" >&2
    exit 1
fi

"#,
    );
}

/// The copy function's `skopeo` command: [`CopySpec::args`] with the platform's parts quoted and
/// the shell's `$AUTHFILE`, the options (`"$@"`: each copy's [`CopySpec::tls_args`]), `$src`
/// and `$dst` in place of the authfile, the options and the two names.
fn skopeo_copy(plan: &Plan) -> String {
    let words: Vec<String> = CopySpec::command(plan.platform.as_ref())
        .iter()
        .map(|arg| match arg {
            Arg::Word(word) => word.clone(),
            Arg::Value(value) => quote(value),
        })
        .collect();
    format!(
        "skopeo {} {AUTHFILE_OPTION} \"$AUTHFILE\" \"$@\" \"{}\" \"{}\"",
        words.join(" "),
        image_arg("$src"),
        image_arg("$dst")
    )
}

/// The copy of `task`, its ends reached as the worker reaches them: the source by its entry in
/// the config, if any (else verified HTTPS, unless SSL verification is off), the target as its
/// registry says.
fn copy_spec<'a>(
    task: &'a PlannedTask,
    plan: &'a Plan,
    config: &Config,
    target_transport: Transport,
) -> CopySpec<'a> {
    let source = config
        .registry_for_host(task.source.registry())
        .map(|(_, r)| r);
    CopySpec {
        source: CopyEnd {
            image: &task.source,
            transport: Transport::for_registry(source, config.tls_verify_disabled),
        },
        target: CopyEnd {
            image: &task.target,
            transport: target_transport,
        },
        platform: plan.platform.as_ref(),
        preserve_digests: false,
    }
}

fn copies(s: &mut String, plan: &Plan, config: &Config, target_transport: Transport) {
    match &plan.platform {
        None => s.push_str(
            "# copy_image SOURCE TARGET [OPTION...]: one `skopeo copy --all` (every platform of a multi-arch\n\
             # image, so the target keeps the source's digest). A failure is counted and the script goes on.\n",
        ),
        Some(platform) => {
            let _ = write!(
                s,
                "# copy_image SOURCE TARGET [OPTION...]: one `skopeo copy` of the {platform} image only:\n\
                 # skopeo picks it out of a multi-arch index and copies its manifest unchanged, so the target\n\
                 # gets that manifest's digest, not the index's (a single-platform image is copied as it is).\n\
                 # A failure is counted and the script goes on.\n",
                platform = comment(&platform.to_string())
            );
        }
    }
    s.push_str(
        &r#"copy_image() {
    src=$1
    dst=$2
    shift 2
    printf '[%d/%d] %s -> %s\n' "$((copied + failed + 1))" "$total" "$src" "$dst"
    if @SKOPEO_COPY@ </dev/null; then
        copied=$((copied + 1))
    else
        failed=$((failed + 1))
        failed_images="$failed_images
    $src -> $dst"
        printf 'FAILED: %s -> %s\n' "$src" "$dst" >&2
    fi
}

"#
        .replace("@SKOPEO_COPY@", &skopeo_copy(plan)),
    );
    for task in &plan.tasks {
        let spec = copy_spec(task, plan, config, target_transport);
        let _ = writeln!(
            s,
            "copy_image {} {} {}",
            quote(&spec.source_name()),
            quote(&spec.target_name()),
            spec.tls_args().join(" ")
        );
    }
    s.push_str(
        r#"
printf '\n%d copied, %d failed (of %d)\n' "$copied" "$failed" "$total"
if [ "$failed" -ne 0 ]; then
    printf 'failed:%s\n' "$failed_images" >&2
    exit 1
fi
"#,
    );
}

/// Text for a comment: one line, no control characters.
fn comment(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use docker_sync_common::image::mapping::ReplaceLevel;

    use super::*;
    use crate::jobs::plan::{Images, JobRequest};

    const TARGET_SECRET: &str = "Distinctive-Target-Pw-4711";
    const SOURCE_SECRET: &str = "Distinctive-Quay-Pw-0815";

    fn config() -> Config {
        Config::parse(
            &format!(
                "registries:\n\
                 \x20 my-harbor:\n    url: harbor.example.com\n    username: 'robot$sync'\n    \
                 password: {TARGET_SECRET}\n    project: mirror\n\
                 \x20 quay:\n    url: quay.io\n    username: puller\n    password: {SOURCE_SECRET}\n\
                 \x20 lab:\n    url: http://10.0.0.5:5000\n\
                 \x20 selfsigned:\n    url: reg.lab.example\n    insecure: true\n    \
                 username: u\n    password: p\n\
                 image_filters:\n  exclude_patterns: ['*:debug']\n"
            ),
            Path::new("r.yaml"),
            false,
        )
        .unwrap()
    }

    /// Plans without a registry to ask: these lists have no tag patterns.
    fn plan_of(req: &JobRequest, config: &Config) -> Plan {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(crate::jobs::plan::plan(
                req,
                config,
                &crate::jobs::tags::Unlisted,
            ))
            .unwrap()
    }

    fn script_for(images: &str, target: &str, level: ReplaceLevel) -> String {
        script_with(&config(), images, target, level)
    }

    fn script_with(config: &Config, images: &str, target: &str, level: ReplaceLevel) -> String {
        let req = JobRequest {
            images: Images::Text(images.into()),
            target: target.into(),
            export: None,
            replace_level: level,
            namespace: None,
            platform: None,
            with_signatures: false,
        };
        render(&plan_of(&req, config), config)
    }

    fn copy_lines(script: &str) -> Vec<&str> {
        script
            .lines()
            .filter(|l| l.starts_with("copy_image "))
            .collect()
    }

    /// `sh -n` (syntax only) on the script.
    fn assert_parses(script: &str) {
        let out = Command::new("sh")
            .args(["-n", "-c", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sh -n: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn quote_makes_one_literal_word() {
        assert_eq!(quote("nginx:1.25"), "'nginx:1.25'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("''"), r"''\'''\'''");
        assert_eq!(quote("robot$sync"), r#""robot\$sync""#);
        assert_eq!(quote(r#"a`b"c\d$"#), r#""a\`b\"c\\d\$""#);
        for s in [
            "it's",
            "$(id) `id` $HOME",
            "robot$sync",
            "a\nb",
            "'",
            "\\'\"",
            "\\$'\"`\n",
            " * ? [a] ~ # ;&|<> ! \\n",
        ] {
            let out = Command::new("sh")
                .args(["-c", &format!("printf '%s' {}", quote(s))])
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s, "{s:?}");
        }
    }

    #[test]
    fn no_password_is_ever_written() {
        let script = script_for(
            "quay.io/org/app:1\nreg.lab.example/x:1\nnginx:1.25",
            "my-harbor",
            ReplaceLevel::All,
        );
        assert!(!script.contains(TARGET_SECRET), "{script}");
        assert!(!script.contains(SOURCE_SECRET), "{script}");
        assert!(!script.contains("password: "), "{script}");
        // Usernames are not secret: they are the defaults.
        assert!(
            script.contains(r#"DSYNC_MY_HARBOR_USERNAME="robot\$sync""#),
            "{script}"
        );
        assert!(script.contains("DSYNC_QUAY_USERNAME='puller'"), "{script}");
        assert_parses(&script);
    }

    #[test]
    fn credentials_come_from_environment_variables_named_after_the_registry() {
        let script = script_for(
            "quay.io/org/app:1\nnginx:1.25",
            "my-harbor",
            ReplaceLevel::All,
        );
        for var in ["DSYNC_MY_HARBOR_PASSWORD", "DSYNC_QUAY_PASSWORD"] {
            assert!(
                script.contains(&format!("if [ -z \"${{{var}:-}}\" ]; then")),
                "{var} is not checked:\n{script}"
            );
        }
        assert!(
            script.contains(
                "login 'quay' 'quay.io' \"$DSYNC_QUAY_USERNAME\" \"$DSYNC_QUAY_PASSWORD\"\n"
            ),
            "{script}"
        );
        assert!(script.contains(
            "login 'my-harbor' 'harbor.example.com' \"$DSYNC_MY_HARBOR_USERNAME\" \"$DSYNC_MY_HARBOR_PASSWORD\"\n"
        ));
        // Sources first, the target last (its login wins on a shared host, as in the worker).
        assert!(script.find("login 'quay'").unwrap() < script.find("login 'my-harbor'").unwrap());
        assert!(script.contains("--password-stdin"));
        assert!(script.contains("unset DSYNC_QUAY_PASSWORD DSYNC_MY_HARBOR_PASSWORD\n"));
        // Registries the plan does not touch, or without credentials, ask for nothing.
        assert!(!script.contains("DSYNC_SELFSIGNED"), "{script}");
        assert!(!script.contains("DSYNC_LAB"), "{script}");
    }

    #[test]
    fn variable_names_are_uppercase_alphanumeric_and_never_collide() {
        let config = Config::parse(
            "registries:\n  my-harbor:\n    url: a.example\n  my.harbor:\n    url: b.example\n  \
             my_harbor_2:\n    url: c.example\n  acr:\n    url: d.example\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap();
        let vars = credential_vars(&config);
        let v = |n: &str| vars[n].password.clone();
        assert_eq!(vars["acr"].username, "DSYNC_ACR_USERNAME");
        assert_eq!(v("acr"), "DSYNC_ACR_PASSWORD");
        assert_eq!(v("my-harbor"), "DSYNC_MY_HARBOR_PASSWORD");
        assert_eq!(v("my.harbor"), "DSYNC_MY_HARBOR_2_PASSWORD");
        assert_eq!(v("my_harbor_2"), "DSYNC_MY_HARBOR_2_2_PASSWORD");
    }

    #[test]
    fn a_source_on_the_target_host_uses_the_target_login_only() {
        let config = Config::parse(
            "registries:\n  alias:\n    url: harbor.example.com\n    username: a\n    password: b\n\
             \x20 target:\n    url: harbor.example.com\n    username: c\n    password: d\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap();
        let req = JobRequest {
            images: Images::Text("harbor.example.com/up/x:1".into()),
            target: "target".into(),
            export: None,
            replace_level: ReplaceLevel::Skip,
            namespace: Some("ns".into()),
            platform: None,
            with_signatures: false,
        };
        let script = render(&plan_of(&req, &config), &config);
        let logins: Vec<&str> = script.lines().filter(|l| l.starts_with("login ")).collect();
        assert_eq!(
            logins,
            ["login 'target' 'harbor.example.com' \"$DSYNC_TARGET_USERNAME\" \"$DSYNC_TARGET_PASSWORD\""]
        );
        assert!(!script.contains("DSYNC_ALIAS"), "{script}");
    }

    #[test]
    fn a_registry_without_credentials_needs_nothing() {
        let script = script_for("quay.io/org/app:1", "lab", ReplaceLevel::Skip);
        assert!(!script.contains("DSYNC_LAB"), "{script}");
        // The source still has credentials.
        assert!(script.contains("DSYNC_QUAY_PASSWORD"));
        let script = script_for("gcr.io/a/b:1", "lab", ReplaceLevel::Skip);
        assert!(!script.contains("DSYNC_"), "{script}");
        assert!(!script.contains("login "), "{script}");
        assert!(script.contains("all access is anonymous"));
        assert!(script.contains("AUTHFILE=$(mktemp)"));
        assert_parses(&script);
    }

    #[test]
    fn tls_flags_follow_each_registry_like_the_worker() {
        let script = script_for(
            "reg.lab.example/x:1\n10.0.0.5:5000/y:1\nquay.io/z:1\ngcr.io/w:1",
            "lab",
            ReplaceLevel::Skip,
        );
        let lines = copy_lines(&script);
        assert_eq!(
            lines,
            [
                "copy_image 'reg.lab.example/x:1' '10.0.0.5:5000/x:1' --src-tls-verify=false --dest-tls-verify=false",
                "copy_image '10.0.0.5:5000/y:1' '10.0.0.5:5000/y:1' --src-tls-verify=false --dest-tls-verify=false",
                "copy_image 'quay.io/z:1' '10.0.0.5:5000/z:1' --src-tls-verify=true --dest-tls-verify=false",
                "copy_image 'gcr.io/w:1' '10.0.0.5:5000/w:1' --src-tls-verify=true --dest-tls-verify=false",
            ]
        );
        assert!(script.contains(
            "login 'selfsigned' 'reg.lab.example' \"$DSYNC_SELFSIGNED_USERNAME\" \"$DSYNC_SELFSIGNED_PASSWORD\" --tls-verify=false\n"
        ));
        assert!(script.contains(
            "login 'quay' 'quay.io' \"$DSYNC_QUAY_USERNAME\" \"$DSYNC_QUAY_PASSWORD\"\n"
        ));
        let script = script_for("nginx", "my-harbor", ReplaceLevel::Skip);
        assert_eq!(
            copy_lines(&script),
            ["copy_image 'docker.io/library/nginx:latest' 'harbor.example.com/mirror/library/nginx:latest' --src-tls-verify=true --dest-tls-verify=true"]
        );
    }

    #[test]
    fn with_ssl_verification_off_an_unconfigured_source_is_not_verified_like_the_worker() {
        // SKOPEO_DISABLE_SSL_VERIFY makes every registry insecure, and the worker reaches a
        // host without an entry insecurely too (Transport::for_registry).
        let config = Config::parse(
            "registries:\n  target:\n    url: harbor.example.com\n    project: p\n",
            Path::new("r.yaml"),
            true,
        )
        .unwrap();
        let script = script_with(&config, "gcr.io/w:1", "target", ReplaceLevel::Skip);
        assert_eq!(
            copy_lines(&script),
            ["copy_image 'gcr.io/w:1' 'harbor.example.com/p/w:1' --src-tls-verify=false --dest-tls-verify=false"]
        );
    }

    /// Runs `script` with a `skopeo` on PATH that writes down its arguments: one line per copy.
    fn skopeo_calls(script: &str) -> Vec<Vec<String>> {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let log = dir.path().join("calls");
        std::fs::write(
            bin.join("skopeo"),
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\036' \"$a\"; done >>\"$CALLS\"\necho >>\"$CALLS\"\n",
        )
        .unwrap();
        std::fs::set_permissions(
            bin.join("skopeo"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let out = Command::new("sh")
            .args(["-c", script])
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("CALLS", &log)
            .env("TMPDIR", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| l.split_terminator('\u{1e}').map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn the_script_runs_skopeo_with_the_workers_arguments() {
        // Anonymous copies only: no login to answer.
        let config = Config::parse(
            "registries:\n  lab:\n    url: http://10.0.0.5:5000\n  \
             selfsigned:\n    url: reg.lab.example\n    insecure: true\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap();
        let digest = format!("sha256:{}", "a".repeat(64));
        for platform in [None, Some("linux/arm/v7")] {
            let req = JobRequest {
                images: Images::Text(format!(
                    "reg.lab.example/x:1\nquay.io/z:1\ngcr.io/w:2@{digest}"
                )),
                target: "lab".into(),
                export: None,
                replace_level: ReplaceLevel::Skip,
                namespace: None,
                platform: platform.map(str::to_owned),
                with_signatures: false,
            };
            let plan = plan_of(&req, &config);
            let calls = skopeo_calls(&render(&plan, &config));
            assert_eq!(calls.len(), plan.tasks.len());
            let target = Transport::for_registry(config.registries.get("lab"), false);
            for (call, task) in calls.iter().zip(&plan.tasks) {
                let at = call.iter().position(|a| a == AUTHFILE_OPTION).unwrap();
                let spec = copy_spec(task, &plan, &config, target);
                assert_eq!(*call, spec.args(Path::new(&call[at + 1])), "{platform:?}");
            }
        }
    }

    #[test]
    fn the_mapping_and_pins_are_the_services() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let script = script_for(
            &format!("gcr.io/a/b/c:1@{digest}\nquay.io/x/y@{digest}\nbitnami/redis:7.2"),
            "my-harbor",
            ReplaceLevel::Drop(1),
        );
        let targets: Vec<(&str, &str)> = copy_lines(&script)
            .iter()
            .map(|l| {
                let words: Vec<&str> = l.split(' ').collect();
                (words[1], words[2])
            })
            .collect();
        assert_eq!(
            targets,
            [
                (
                    &*format!("'gcr.io/a/b/c@{digest}'"),
                    "'harbor.example.com/mirror/b/c:1'"
                ),
                (
                    &*format!("'quay.io/x/y@{digest}'"),
                    &*format!("'harbor.example.com/mirror/y@{digest}'")
                ),
                (
                    "'docker.io/bitnami/redis:7.2'",
                    "'harbor.example.com/mirror/redis:7.2'"
                ),
            ]
        );
        assert!(script.contains("total=3\n"));
        assert!(script.contains("replacement level 1,"));
        assert!(script.contains("namespace mirror,"));
    }

    #[test]
    fn dropped_lines_are_listed_as_comments() {
        let script = script_for("nginx:debug\nnginx:1\nnginx:1\n", "lab", ReplaceLevel::All);
        assert!(script
            .contains("#   line 1: docker.io/library/nginx:debug (excluded by pattern *:debug)\n"));
        assert!(script.contains("#   line 3: docker.io/library/nginx:1 (duplicate of line 2)\n"));
        assert_eq!(copy_lines(&script).len(), 1);
    }

    #[test]
    fn every_copy_is_counted_and_a_failure_does_not_stop_the_script() {
        let script = script_for("nginx:1", "lab", ReplaceLevel::All);
        assert!(script.starts_with("#!/bin/sh\n# Generated by docker-image-sync "));
        assert!(script.contains("\nset -eu\n"));
        assert!(script.contains(
            "if skopeo copy --all --authfile \"$AUTHFILE\" \"$@\" \"docker://$src\" \"docker://$dst\" </dev/null; then"
        ));
        assert!(script.contains("printf '\\n%d copied, %d failed (of %d)\\n'"));
        assert!(script.trim_end().ends_with("exit 1\nfi"));
        assert!(script.contains("trap 'rm -f \"$AUTHFILE\"' EXIT"));
    }

    #[test]
    fn one_platform_is_copied_with_skopeos_overrides_instead_of_all() {
        let config = config();
        let mut req = JobRequest {
            images: Images::Text("quay.io/org/app:1\nnginx:1.25".into()),
            target: "lab".into(),
            export: None,
            replace_level: ReplaceLevel::All,
            namespace: None,
            platform: Some("linux/arm/v7".into()),
            with_signatures: false,
        };
        let script = render(&plan_of(&req, &config), &config);
        assert!(script.contains(
            "    if skopeo --override-os 'linux' --override-arch 'arm' --override-variant 'v7' copy \
             --authfile \"$AUTHFILE\" \"$@\" \"docker://$src\" \"docker://$dst\" </dev/null; then\n"
        ), "{script}");
        assert!(!script.contains("--all"), "{script}");
        assert!(
            script.contains("# Platform linux/arm/v7 only: "),
            "{script}"
        );
        assert!(script.contains("not the source's index digest"), "{script}");
        assert_eq!(copy_lines(&script).len(), 2);
        assert_parses(&script);

        // "all" is the whole index, exactly the script without the option.
        req.platform = Some("all".into());
        let all = render(&plan_of(&req, &config), &config);
        req.platform = None;
        assert_eq!(all, render(&plan_of(&req, &config), &config));
        assert!(
            all.contains("    if skopeo copy --all --authfile "),
            "{all}"
        );
    }

    #[test]
    fn hostile_names_in_the_config_stay_quoted() {
        let config = Config::parse(
            "registries:\n  \"it's $(touch /tmp/pwned) `id` \\\"x\\\"\":\n    url: r.example\n    \
             username: \"o'neil $(id)\"\n    password: pw\n    namespace: ns\n\
             image_filters:\n  exclude_patterns: [\"*:x\\n$(id)\"]\n",
            Path::new("r.yaml"),
            false,
        )
        .unwrap();
        let name = config.registries.keys().next().unwrap().clone();
        let req = JobRequest {
            images: Images::Text("a:1\na:1".into()),
            target: name.clone(),
            export: None,
            replace_level: ReplaceLevel::Skip,
            namespace: None,
            platform: None,
            with_signatures: false,
        };
        let script = render(&plan_of(&req, &config), &config);
        assert_parses(&script);
        assert!(script.contains(&quote("o'neil $(id)")), "{script}");
        assert!(script.contains(&format!("login {} 'r.example'", quote(&name))));
        assert_eq!(
            file_name(&name),
            "docker-sync-it_s___touch__tmp_pwned___id___x_.sh"
        );
        // Every line starting with `#` stays a comment: no newline sneaks in.
        for line in script.lines().filter(|l| l.contains("touch")) {
            assert!(
                line.starts_with('#')
                    || line.contains(&quote(&name))
                    || line.starts_with("    printf '%s\\n' "),
                "{line}"
            );
        }
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name("harbor"), "docker-sync-harbor.sh");
        assert_eq!(file_name("my-harbor.v2_x"), "docker-sync-my-harbor.v2_x.sh");
        assert_eq!(file_name("../etc/passwd"), "docker-sync-_etc_passwd.sh");
        assert_eq!(file_name("a\"b; c"), "docker-sync-a_b__c.sh");
    }
}
