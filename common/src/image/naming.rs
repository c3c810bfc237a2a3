//! The naming rules a target registry's type implies, checked when a job is submitted so a job
//! that cannot be pushed is refused with the rule and the replacement level that would fit,
//! instead of failing image by image at push time.
//!
//! | type | rule |
//! |------|------|
//! | `acr` (Alibaba Cloud ACR) | exactly `namespace/repository` |
//! | `swr` (Huawei Cloud SWR) | exactly `organization/repository` |
//! | `tcr` (Tencent Cloud TCR) | personal edition (`ccr.ccs.tencentyun.com`): exactly `namespace/repository`; enterprise instances (`*.tencentcloudcr.com`): at least `namespace/repository` |
//! | `dockerhub` | exactly `namespace/repository` (an account or organisation, then the repository) |
//! | `harbor` | at least `project/repository` |
//! | `nexus`, `generic` | none beyond the distribution grammar |
use std::fmt;

use crate::config::{type_name, RegistryType};
use crate::image::mapping::{mapped_path, ReplaceLevel};
use crate::image::reference::ImageRef;

/// How many path parts (after the host) a registry type accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathRule {
    /// `first/repository` and nothing deeper.
    Exactly2,
    /// `first/repository`, deeper paths allowed.
    AtLeast2,
}

/// A target path the registry type does not accept, with what would fit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NamingError {
    pub kind: RegistryType,
    pub rule: PathRule,
    /// The target repository path that breaks the rule (`ns/library/nginx`).
    pub path: String,
    pub parts: usize,
    /// A replacement level that gives this source an accepted path, and that path.
    pub fits: Option<(ReplaceLevel, String)>,
    pub message: String,
}

/// The rule of `kind` for a target on `host`, if it has one.
pub fn rule_for(kind: RegistryType, host: &str) -> Option<PathRule> {
    match kind {
        RegistryType::Acr | RegistryType::Swr | RegistryType::Dockerhub => Some(PathRule::Exactly2),
        // Enterprise instances (Harbor underneath) take deeper repository names; the personal
        // edition does not.
        RegistryType::Tcr if is_tcr_enterprise(host) => Some(PathRule::AtLeast2),
        RegistryType::Tcr => Some(PathRule::Exactly2),
        RegistryType::Harbor => Some(PathRule::AtLeast2),
        RegistryType::Nexus | RegistryType::Generic => None,
    }
}

fn is_tcr_enterprise(host: &str) -> bool {
    let name = host.split(':').next().unwrap_or(host);
    name.ends_with(".tencentcloudcr.com")
}

fn accepts(rule: PathRule, parts: usize) -> bool {
    match rule {
        PathRule::Exactly2 => parts == 2,
        PathRule::AtLeast2 => parts >= 2,
    }
}

fn first_part_name(kind: RegistryType) -> &'static str {
    match kind {
        RegistryType::Harbor => "project",
        RegistryType::Swr => "organization",
        _ => "namespace",
    }
}

fn rule_text(kind: RegistryType, rule: PathRule) -> String {
    let first = first_part_name(kind);
    match rule {
        PathRule::Exactly2 => format!("exactly {first}/repository"),
        PathRule::AtLeast2 => format!("at least {first}/repository"),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "part"
    } else {
        "parts"
    }
}

/// Checks that `target` (the mapping of `source` under `namespace` at `level`) suits a registry
/// of type `kind`. The error names the rule, the path and how many parts it has, and the
/// replacement level that would fit this source, or what else to change.
pub fn check_target(
    kind: RegistryType,
    target: &ImageRef,
    namespace: &str,
    source: &ImageRef,
    level: ReplaceLevel,
) -> Result<(), NamingError> {
    let Some(rule) = rule_for(kind, target.registry()) else {
        return Ok(());
    };
    let path = target.repository();
    let parts = path.split('/').count();
    if accepts(rule, parts) {
        return Ok(());
    }
    let namespace = namespace.trim_matches('/');
    let ns_parts = if namespace.is_empty() {
        0
    } else {
        namespace.split('/').count()
    };
    let fits = fitting_level(rule, namespace, ns_parts, source.repository(), level);
    let what = format!(
        "{} takes {}; `{path}` has {parts} {}",
        type_name(kind),
        rule_text(kind, rule),
        plural(parts)
    );
    let first = first_part_name(kind);
    let message = match (&fits, rule) {
        (Some((fit, fitted)), _) => {
            format!("{what}; replacement level `{fit}` gives `{fitted}`")
        }
        (None, PathRule::Exactly2) if ns_parts >= 2 => format!(
            "{what}, and the namespace `{namespace}` alone has {ns_parts}: use a one-part \
             {first} (the job's namespace or the registry's `namespace`) with replacement level \
             `all`"
        ),
        (None, _) => format!(
            "{what}: no replacement level gives `{}` a second part; set a {first} (the job's \
             namespace or the registry's `{}`)",
            source.repository(),
            crate::config::namespace_key(kind)
        ),
    };
    Err(NamingError {
        kind,
        rule,
        path: path.to_owned(),
        parts,
        fits,
        message,
    })
}

/// The level that gives `repository` an accepted path under `namespace`, closest to what was
/// asked: `all` when one part must remain (it fits every image of a list), else the level that
/// drops the fewest parts beyond the request (for "at least": keeps the most of the request's
/// dropping).
fn fitting_level(
    rule: PathRule,
    namespace: &str,
    ns_parts: usize,
    repository: &str,
    asked: ReplaceLevel,
) -> Option<(ReplaceLevel, String)> {
    let source_parts = repository.split('/').count();
    let keep = match rule {
        // The mapped path must have exactly this many parts.
        PathRule::Exactly2 => 2usize.checked_sub(ns_parts).filter(|k| *k >= 1)?,
        // At least this many; keep no more than needed beyond what was asked.
        PathRule::AtLeast2 => {
            let asked_keep = mapped_path(repository, asked).split('/').count();
            asked_keep.max(2usize.saturating_sub(ns_parts)).max(1)
        }
    };
    if keep > source_parts {
        return None;
    }
    let level = if keep == 1 {
        ReplaceLevel::All
    } else if keep == source_parts {
        ReplaceLevel::Skip
    } else {
        let drop = u8::try_from(source_parts - keep).ok().filter(|d| *d <= 3)?;
        ReplaceLevel::Drop(drop)
    };
    let mapped = mapped_path(repository, level);
    let full = if namespace.is_empty() {
        mapped
    } else {
        format!("{namespace}/{mapped}")
    };
    accepts(rule, full.split('/').count()).then_some((level, full))
}

impl fmt::Display for PathRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathRule::Exactly2 => "exactly two parts",
            PathRule::AtLeast2 => "at least two parts",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::mapping::map_target;

    /// Maps `source` like a job would and checks it.
    fn check(
        kind: RegistryType,
        host: &str,
        source: &str,
        namespace: &str,
        level: &str,
    ) -> Result<String, NamingError> {
        let source = ImageRef::parse(source).unwrap();
        let level: ReplaceLevel = level.parse().unwrap();
        let target = map_target(&source, host, namespace, level).unwrap();
        check_target(kind, &target, namespace, &source, level).map(|()| target.to_string())
    }

    const ACR: &str = "registry.cn-hangzhou.aliyuncs.com";

    #[test]
    fn acr_takes_exactly_namespace_and_repository() {
        assert_eq!(
            check(RegistryType::Acr, ACR, "nginx:1.25", "ns", "all").unwrap(),
            format!("{ACR}/ns/nginx:1.25")
        );
        assert_eq!(
            check(RegistryType::Acr, ACR, "gcr.io/a/b/img:1", "ns", "3").unwrap(),
            format!("{ACR}/ns/img:1")
        );
        let e = check(RegistryType::Acr, ACR, "nginx:1.25", "ns", "skip").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Alibaba Cloud ACR takes exactly namespace/repository; `ns/library/nginx` has 3 \
             parts; replacement level `all` gives `ns/nginx`"
        );
        assert_eq!(e.rule, PathRule::Exactly2);
        assert_eq!(e.parts, 3);
        assert_eq!(e.fits, Some((ReplaceLevel::All, "ns/nginx".into())));
    }

    #[test]
    fn acr_without_a_namespace_keeps_two_parts_of_the_source() {
        let e = check(RegistryType::Acr, ACR, "gcr.io/a/b/img:1", "", "skip").unwrap_err();
        assert_eq!(e.fits, Some((ReplaceLevel::Drop(1), "b/img".into())));
        assert!(
            e.to_string()
                .ends_with("replacement level `1` gives `b/img`"),
            "{e}"
        );
        let e = check(RegistryType::Acr, ACR, "gcr.io/a/img:1", "", "all").unwrap_err();
        assert_eq!(e.fits, Some((ReplaceLevel::Skip, "a/img".into())));
        // One part and no namespace: no level helps.
        let e = check(
            RegistryType::Acr,
            ACR,
            "registry.k8s.io/pause:3.9",
            "",
            "skip",
        )
        .unwrap_err();
        assert_eq!(e.fits, None);
        assert!(
            e.to_string().contains("set a namespace")
                && e.to_string().contains("`pause` has 1 part"),
            "{e}"
        );
    }

    #[test]
    fn a_two_part_namespace_never_fits_an_exact_rule() {
        let e = check(RegistryType::Acr, ACR, "nginx", "a/b", "all").unwrap_err();
        assert_eq!(e.fits, None);
        assert!(
            e.to_string()
                .contains("the namespace `a/b` alone has 2: use a one-part namespace"),
            "{e}"
        );
    }

    #[test]
    fn swr_takes_organization_and_repository() {
        let host = "swr.cn-north-4.myhuaweicloud.com";
        assert!(check(RegistryType::Swr, host, "bitnami/redis:7", "org", "1").is_ok());
        let e = check(RegistryType::Swr, host, "bitnami/redis:7", "org", "skip").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Huawei Cloud SWR takes exactly organization/repository; `org/bitnami/redis` has 3 \
             parts; replacement level `all` gives `org/redis`"
        );
    }

    #[test]
    fn tcr_personal_is_exact_and_enterprise_takes_deeper_paths() {
        let personal = "ccr.ccs.tencentyun.com";
        let e = check(RegistryType::Tcr, personal, "gcr.io/a/img", "ns", "skip").unwrap_err();
        assert!(
            e.to_string().starts_with("Tencent Cloud TCR takes exactly"),
            "{e}"
        );
        assert!(check(RegistryType::Tcr, personal, "gcr.io/a/img", "ns", "all").is_ok());
        let enterprise = "my-instance.tencentcloudcr.com";
        assert!(check(RegistryType::Tcr, enterprise, "gcr.io/a/img", "ns", "skip").is_ok());
        let e = check(RegistryType::Tcr, enterprise, "gcr.io/a/img", "", "all").unwrap_err();
        assert_eq!(e.rule, PathRule::AtLeast2);
        assert_eq!(e.fits, Some((ReplaceLevel::Skip, "a/img".into())));
    }

    #[test]
    fn harbor_takes_at_least_project_and_repository() {
        let host = "harbor.example.com";
        assert!(check(RegistryType::Harbor, host, "nginx", "library", "all").is_ok());
        assert!(check(RegistryType::Harbor, host, "gcr.io/a/b/c/img", "p", "skip").is_ok());
        assert!(check(RegistryType::Harbor, host, "gcr.io/a/b/c/img", "", "2").is_ok());
        let e = check(RegistryType::Harbor, host, "gcr.io/a/b/c/img", "", "all").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Harbor takes at least project/repository; `img` has 1 part; replacement level `2` \
             gives `c/img`"
        );
        let e = check(
            RegistryType::Harbor,
            host,
            "registry.k8s.io/pause",
            "",
            "skip",
        )
        .unwrap_err();
        assert_eq!(e.fits, None);
        assert!(
            e.to_string()
                .contains("set a project (the job's namespace or the registry's `project`)"),
            "{e}"
        );
    }

    #[test]
    fn docker_hub_takes_exactly_account_and_repository() {
        assert!(check(
            RegistryType::Dockerhub,
            "docker.io",
            "gcr.io/a/img",
            "me",
            "all"
        )
        .is_ok());
        let e = check(
            RegistryType::Dockerhub,
            "docker.io",
            "gcr.io/a/img",
            "me",
            "skip",
        )
        .unwrap_err();
        assert_eq!(e.fits, Some((ReplaceLevel::All, "me/img".into())));
    }

    #[test]
    fn nexus_and_generic_have_no_rule() {
        for kind in [RegistryType::Nexus, RegistryType::Generic] {
            assert!(check(
                kind,
                "r.example.com:8082",
                "registry.k8s.io/pause",
                "",
                "all"
            )
            .is_ok());
            assert!(check(kind, "r.example.com:8082", "gcr.io/a/b/c/d", "x/y", "skip").is_ok());
        }
    }

    #[test]
    fn digests_and_tags_do_not_matter() {
        let sha = format!("sha256:{}", "a".repeat(64));
        let e = check(
            RegistryType::Acr,
            ACR,
            &format!("gcr.io/a/img@{sha}"),
            "ns",
            "skip",
        )
        .unwrap_err();
        assert_eq!(e.path, "ns/a/img");
    }
}
