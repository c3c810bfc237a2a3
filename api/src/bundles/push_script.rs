//! `push.sh`: loads a bundle's archives into a registry with skopeo, on a machine that has the
//! bundle and skopeo and nothing else. It embeds no secret: the registry comes from its first
//! argument, credentials from `REGISTRY_USERNAME` / `REGISTRY_PASSWORD`, piped into `skopeo
//! login --password-stdin` so they never reach an argv. Each file is checked against the
//! manifest's SHA-256 before it is pushed, and digests are kept (`--preserve-digests`), so the
//! target holds exactly the source's image.

use std::fmt::Write;

use docker_sync_common::bundle::{ArchiveFormat, BundleManifest};

use crate::scripts::quote;

const HEADER: &str = r#"#!/bin/sh
# Pushes this bundle's images into a registry with skopeo.
#
#   ./push.sh REGISTRY[/PREFIX]          e.g. ./push.sh harbor.example.com
#                                        or   ./push.sh harbor.example.com/offline
#
# Environment:
#   REGISTRY_USERNAME, REGISTRY_PASSWORD   log in first (unset: push anonymously)
#   REGISTRY_INSECURE=1                    plain HTTP or an unverified certificate
#
# Every file is checked against manifest.json's SHA-256 before it is pushed.
set -eu
cd "$(dirname "$0")"

if [ $# -ne 1 ] || [ -z "$1" ]; then
    printf 'usage: %s REGISTRY[/PREFIX]\n' "$0" >&2
    exit 2
fi
dest=${1%/}
host=${dest%%/*}
for tool in skopeo sha256sum; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        printf 'error: %s is not installed\n' "$tool" >&2
        exit 2
    fi
done
tls=--dest-tls-verify=true
login_tls=--tls-verify=true
if [ "${REGISTRY_INSECURE:-}" = 1 ]; then
    tls=--dest-tls-verify=false
    login_tls=--tls-verify=false
fi

# A private authfile for this run only (mode 0600, removed on exit).
umask 077
AUTHFILE=$(mktemp)
trap 'rm -f "$AUTHFILE"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
printf '{"auths": {}}\n' >"$AUTHFILE"
if [ -n "${REGISTRY_PASSWORD:-}" ]; then
    if [ -z "${REGISTRY_USERNAME:-}" ]; then
        printf 'error: REGISTRY_PASSWORD is set but REGISTRY_USERNAME is not\n' >&2
        exit 2
    fi
    printf '%s' "$REGISTRY_PASSWORD" | skopeo login --authfile "$AUTHFILE" --username "$REGISTRY_USERNAME" --password-stdin "$login_tls" "$host" >/dev/null
    unset REGISTRY_PASSWORD
fi

pushed=0
failed=0
# push FILE SHA256 TRANSPORT TARGET [OPTION...]
push() {
    file=$1
    sum=$2
    transport=$3
    target=$4
    shift 4
    if ! printf '%s  %s\n' "$sum" "$file" | sha256sum -c --status; then
        printf 'FAILED %s: the file does not match manifest.json (damaged or incomplete copy)\n' "$file" >&2
        failed=$((failed + 1))
        return 0
    fi
    if skopeo copy --quiet --preserve-digests "$@" --authfile "$AUTHFILE" "$tls" "$transport:$file" "docker://$dest/$target"; then
        printf 'pushed %s -> %s/%s\n' "$file" "$dest" "$target"
        pushed=$((pushed + 1))
    else
        printf 'FAILED %s -> %s/%s\n' "$file" "$dest" "$target" >&2
        failed=$((failed + 1))
    fi
}

"#;

/// The script for `manifest`'s images, in the manifest's order.
pub fn render(manifest: &BundleManifest) -> String {
    let mut s = String::from(HEADER);
    let options = match manifest.format {
        // Every platform of an index, as the archive holds them.
        ArchiveFormat::OciArchive => " --all",
        ArchiveFormat::DockerArchive => "",
    };
    for image in &manifest.images {
        let _ = writeln!(
            s,
            "push {} {} {} {}{options}",
            quote(&image.file),
            quote(&image.sha256),
            manifest.format.as_str(),
            quote(&image.target),
        );
    }
    let _ = writeln!(
        s,
        "\nprintf '\\n%d pushed, %d failed (of {})\\n' \"$pushed\" \"$failed\"\n[ \"$failed\" -eq 0 ]",
        manifest.images.len()
    );
    s
}

#[cfg(test)]
mod tests {
    use docker_sync_common::bundle::BundleImage;

    use super::*;

    fn manifest(format: ArchiveFormat) -> BundleManifest {
        BundleManifest {
            version: 1,
            job: "j".into(),
            created_at_ms: 0,
            format,
            images: vec![BundleImage {
                source: "docker.io/library/nginx:1.25".into(),
                target: "mirror/library/nginx:1.25".into(),
                digest: "sha256:aa".into(),
                platform: None,
                file: "library_nginx_1.25.oci.tar".into(),
                size: 1,
                sha256: "ff".into(),
            }],
        }
    }

    #[test]
    fn each_image_is_one_push_line_with_every_value_quoted() {
        let oci = render(&manifest(ArchiveFormat::OciArchive));
        assert!(oci.contains(
            "push 'library_nginx_1.25.oci.tar' 'ff' oci-archive 'mirror/library/nginx:1.25' --all\n"
        ));
        assert!(oci.trim_end().ends_with("[ \"$failed\" -eq 0 ]"));
        let docker = render(&manifest(ArchiveFormat::DockerArchive));
        assert!(
            docker.contains("docker-archive 'mirror/library/nginx:1.25'\n"),
            "{docker}"
        );
    }
}
