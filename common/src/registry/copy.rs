//! One `skopeo copy`: the argument list the worker runs and a generated script writes, built in
//! one place so both copy the same way.
//!
//! ```text
//! [--override-os OS --override-arch ARCH [--override-variant VARIANT]] copy [--all]
//!     --authfile FILE --src-tls-verify=BOOL --dest-tls-verify=BOOL docker://SOURCE docker://TARGET
//! ```
//!
//! - **Platforms.** Without a platform every platform of a multi-arch index is copied (`--all`:
//!   the target keeps the index and its digest). With one, skopeo's global overrides (before
//!   `copy`, where skopeo 1.9 reads them) pick that platform's manifest out of an index and copy it
//!   unchanged, so the target gets that manifest's digest.
//! - **Certificates.** `--src-tls-verify` / `--dest-tls-verify` follow each registry's
//!   [`Transport`]: true only for verified HTTPS. False (plain HTTP, `insecure`) makes skopeo skip
//!   certificate checks and fall back to plain HTTP, the rule of [`Transport::Insecure`].
//! - **Names.** The source is named by digest when it is pinned, the target by its tag
//!   ([`ImageRef::copy_source`], [`ImageRef::copy_target`]).
//! - **Secrets.** None is ever in the list. Both callers always pass an authfile, with or without
//!   credentials (the worker writes one per copy, a script logs in into one), which also keeps
//!   skopeo from reading anyone's own `~/.docker/config.json`. A registry's own proxy reaches
//!   skopeo through its environment.
//!
//! A script runs one shell function for every copy of a job: it writes [`CopySpec::command`]
//! (quoting its [`Arg::Value`]s) and the authfile into the function, and passes each copy's
//! [`CopySpec::tls_args`] and names to it.

use std::path::Path;

use super::reach::Transport;
use crate::image::{ImageRef, Platform};

/// skopeo's option naming the authfile; its value is the next argument.
pub const AUTHFILE_OPTION: &str = "--authfile";

/// skopeo's option to copy manifests byte for byte or fail.
const PRESERVE_DIGESTS: &str = "--preserve-digests";

/// The transport prefix of an image in skopeo's arguments.
pub const DOCKER_TRANSPORT: &str = "docker://";

/// One argument, told apart by where it comes from, so that a script can quote what came from a
/// job or the configuration and leave skopeo's own words as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Spelled here: the command, an option, an option with its value (`--all`,
    /// `--src-tls-verify=false`).
    Word(String),
    /// A value from a job or the configuration: a platform's os, arch or variant.
    Value(String),
}

impl Arg {
    pub fn as_str(&self) -> &str {
        match self {
            Arg::Word(s) | Arg::Value(s) => s,
        }
    }
}

/// One end of a copy: the image and how its registry is spoken to.
#[derive(Debug, Clone, Copy)]
pub struct CopyEnd<'a> {
    pub image: &'a ImageRef,
    pub transport: Transport,
}

/// One copy from `source` to `target`.
#[derive(Debug, Clone, Copy)]
pub struct CopySpec<'a> {
    pub source: CopyEnd<'a>,
    pub target: CopyEnd<'a>,
    /// None: every platform of a multi-arch index (`--all`). A platform: only that platform's
    /// manifest out of an index (skopeo's `--override-os/-arch/-variant`); a single-platform image
    /// is copied as it is.
    pub platform: Option<&'a Platform>,
    /// `--preserve-digests`: fail rather than re-encode a manifest. For signatures and
    /// referrers, whose digest is what makes them found; an image copy lets skopeo convert.
    pub preserve_digests: bool,
}

impl CopySpec<'_> {
    /// skopeo's arguments (without the program): [`Self::command`], `--authfile` and `authfile`,
    /// [`Self::tls_args`], then source and target as [`image_arg`]s.
    pub fn args(&self, authfile: &Path) -> Vec<String> {
        let mut args: Vec<String> = Self::command(self.platform)
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        if self.preserve_digests {
            args.push(PRESERVE_DIGESTS.to_owned());
        }
        args.push(AUTHFILE_OPTION.to_owned());
        args.push(authfile.display().to_string());
        args.extend(self.tls_args());
        args.push(image_arg(&self.source_name()));
        args.push(image_arg(&self.target_name()));
        args
    }

    /// What every copy with this platform choice starts with: the platform's global options,
    /// `copy`, and `--all` when there is no platform.
    pub fn command(platform: Option<&Platform>) -> Vec<Arg> {
        let mut args = Vec::new();
        match platform {
            Some(p) => {
                args.push(Arg::Word("--override-os".to_owned()));
                args.push(Arg::Value(p.os.clone()));
                args.push(Arg::Word("--override-arch".to_owned()));
                args.push(Arg::Value(p.arch.clone()));
                if let Some(variant) = &p.variant {
                    args.push(Arg::Word("--override-variant".to_owned()));
                    args.push(Arg::Value(variant.clone()));
                }
                args.push(Arg::Word("copy".to_owned()));
            }
            None => {
                args.push(Arg::Word("copy".to_owned()));
                args.push(Arg::Word("--all".to_owned()));
            }
        }
        args
    }

    /// `--src-tls-verify=…` and `--dest-tls-verify=…`, from each side's [`Transport`].
    pub fn tls_args(&self) -> [String; 2] {
        [
            format!("--src-tls-verify={}", self.source.transport.tls_verify()),
            format!("--dest-tls-verify={}", self.target.transport.tls_verify()),
        ]
    }

    /// The source as skopeo is told to read it: by digest when pinned, else by tag.
    pub fn source_name(&self) -> String {
        self.source.image.copy_source()
    }

    /// The target as skopeo is told to write it: by tag, so the tag points at the copy.
    pub fn target_name(&self) -> String {
        self.target.image.copy_target()
    }
}

/// An image name as a skopeo argument: `docker://name`.
pub fn image_arg(name: &str) -> String {
    format!("{DOCKER_TRANSPORT}{name}")
}

/// The option a `skopeo login` into a registry needs beside the copies: `--tls-verify=false`
/// where a copy would say `--src-tls-verify=false`, none for verified HTTPS (skopeo's default).
pub fn login_tls_option(transport: Transport) -> Option<&'static str> {
    (!transport.tls_verify()).then_some("--tls-verify=false")
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTHFILE: &str = "/tmp/auth.json";

    fn image(s: &str) -> ImageRef {
        ImageRef::parse(s).unwrap()
    }

    fn args(
        source: (&ImageRef, Transport),
        target: (&ImageRef, Transport),
        platform: Option<&Platform>,
    ) -> Vec<String> {
        CopySpec {
            source: CopyEnd {
                image: source.0,
                transport: source.1,
            },
            target: CopyEnd {
                image: target.0,
                transport: target.1,
            },
            platform,
            preserve_digests: false,
        }
        .args(Path::new(AUTHFILE))
    }

    #[test]
    fn verified_https_on_both_sides_copies_every_platform() {
        let (s, t) = (image("quay.io/a/b:1"), image("harbor.example.com/ns/b:1"));
        assert_eq!(
            args((&s, Transport::Https), (&t, Transport::Https), None),
            [
                "copy",
                "--all",
                "--authfile",
                AUTHFILE,
                "--src-tls-verify=true",
                "--dest-tls-verify=true",
                "docker://quay.io/a/b:1",
                "docker://harbor.example.com/ns/b:1",
            ]
        );
    }

    #[test]
    fn a_plain_http_or_insecure_target_is_not_verified() {
        let (s, t) = (image("quay.io/a/b:1"), image("127.0.0.1:5000/ns/b:1"));
        for transport in [Transport::PlainHttp, Transport::Insecure] {
            let args = args((&s, Transport::Https), (&t, transport), None);
            assert_eq!(
                args[4..6],
                ["--src-tls-verify=true", "--dest-tls-verify=false"],
                "{transport:?}"
            );
        }
        let args = args((&t, Transport::Insecure), (&s, Transport::Https), None);
        assert_eq!(
            args[4..6],
            ["--src-tls-verify=false", "--dest-tls-verify=true"]
        );
    }

    #[test]
    fn one_platform_is_selected_with_global_overrides_instead_of_all() {
        let (s, t) = (image("quay.io/a/b:1"), image("127.0.0.1:5000/ns/b:1"));
        let platform: Platform = "linux/arm/v7".parse().unwrap();
        let args = args(
            (&s, Transport::Https),
            (&t, Transport::PlainHttp),
            Some(&platform),
        );
        assert_eq!(
            args[..7],
            [
                "--override-os",
                "linux",
                "--override-arch",
                "arm",
                "--override-variant",
                "v7",
                "copy"
            ]
        );
        assert!(!args.contains(&"--all".to_owned()), "{args:?}");
        assert_eq!(args[7..9], ["--authfile", AUTHFILE]);
        let platform: Platform = "linux/arm64".parse().unwrap();
        assert_eq!(
            CopySpec::command(Some(&platform)),
            [
                Arg::Word("--override-os".into()),
                Arg::Value("linux".into()),
                Arg::Word("--override-arch".into()),
                Arg::Value("arm64".into()),
                Arg::Word("copy".into()),
            ]
        );
    }

    #[test]
    fn the_source_is_pinned_by_digest_and_the_target_named_by_tag() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let s = image(&format!("quay.io/a/b:1@{digest}"));
        let t = image(&format!("127.0.0.1:5000/ns/b:1@{digest}"));
        let args = args((&s, Transport::Https), (&t, Transport::PlainHttp), None);
        assert_eq!(
            args[6..],
            [
                format!("docker://quay.io/a/b@{digest}"),
                "docker://127.0.0.1:5000/ns/b:1".to_owned()
            ]
        );
    }

    #[test]
    fn credentials_are_never_arguments_the_authfile_always_is() {
        // The spec has no credentials to give: with or without them, a copy reads the authfile,
        // and only the authfile (never the user's own docker config).
        let (s, t) = (image("quay.io/a/b:1"), image("127.0.0.1:5000/ns/b:1"));
        let args = args((&s, Transport::Https), (&t, Transport::PlainHttp), None);
        let at = args.iter().position(|a| a == AUTHFILE_OPTION).unwrap();
        assert_eq!(args[at + 1], AUTHFILE);
        assert_eq!(args.iter().filter(|a| a.contains("auth")).count(), 2);
    }

    #[test]
    fn a_signature_is_copied_with_its_digest_kept() {
        // `--all` does nothing to a single manifest, and keeps an index referrer whole.
        let s = image("quay.io/a/b:sha256-ab.sig");
        let t = image("127.0.0.1:5000/ns/b:sha256-ab.sig");
        let spec = CopySpec {
            source: CopyEnd {
                image: &s,
                transport: Transport::Https,
            },
            target: CopyEnd {
                image: &t,
                transport: Transport::PlainHttp,
            },
            platform: None,
            preserve_digests: true,
        };
        assert_eq!(
            spec.args(Path::new(AUTHFILE))[..5],
            [
                "copy",
                "--all",
                "--preserve-digests",
                "--authfile",
                AUTHFILE
            ]
        );
    }

    #[test]
    fn a_login_checks_certificates_like_the_copy() {
        assert_eq!(login_tls_option(Transport::Https), None);
        assert_eq!(
            login_tls_option(Transport::Insecure),
            Some("--tls-verify=false")
        );
        assert_eq!(
            login_tls_option(Transport::PlainHttp),
            Some("--tls-verify=false")
        );
    }
}
