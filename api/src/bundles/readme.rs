//! The bundle's `README.md`: what the bundle holds and how to get it into a registry or a
//! Docker host, for whoever carries the disk across the air gap and never saw the UI.

use std::fmt::Write;

use docker_sync_common::bundle::{ArchiveFormat, BundleManifest, MANIFEST_FILE};

/// Markdown for `manifest`; image names and file names are written as code, so nothing in them
/// is read as markup.
pub fn render(manifest: &BundleManifest) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Image bundle {}\n\n{} images as `{}` archives, {} in all. `{MANIFEST_FILE}` lists each \
         file with the image it holds, its digest, size and SHA-256.\n",
        code(&manifest.job),
        manifest.images.len(),
        manifest.format.as_str(),
        human_size(manifest.total_size()),
    );
    s.push_str("| image | file | size |\n|---|---|---|\n");
    for image in &manifest.images {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            code(&image.source),
            code(&image.file),
            human_size(image.size)
        );
    }
    s.push_str(
        "\n## Check the files\n\n```sh\nsha256sum -c SHA256SUMS\n```\n\n## Push them into a registry\n\n\
         Needs `skopeo` and `sha256sum`. The registry comes from the argument (a path after the host \
         is a prefix for every image); credentials from the environment, never the command line:\n\n\
         ```sh\nREGISTRY_USERNAME=robot REGISTRY_PASSWORD=... ./push.sh registry.example.com/mirror\n\
         REGISTRY_INSECURE=1 ./push.sh 10.0.0.5:5000      # plain HTTP or an unverified certificate\n```\n\n\
         Digests are kept: the registry ends up with exactly the source's images.\n",
    );
    if manifest.format == ArchiveFormat::DockerArchive {
        s.push_str(
            "\n## Or load them into Docker\n\n```sh\nfor f in *.docker.tar; do docker load -i \"$f\"; done\n```\n",
        );
    }
    s
}

/// `SHA256SUMS`, as `sha256sum` writes and checks it.
pub fn sha256sums(manifest: &BundleManifest) -> String {
    manifest
        .images
        .iter()
        .map(|i| format!("{}  {}\n", i.sha256, i.file))
        .collect()
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace(['\n', '\r', '|'], " "))
}

fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use docker_sync_common::bundle::BundleImage;

    use super::*;

    #[test]
    fn the_readme_lists_every_image_and_says_how_to_push_and_load() {
        let manifest = BundleManifest {
            version: 1,
            job: "j1".into(),
            created_at_ms: 0,
            format: ArchiveFormat::DockerArchive,
            images: vec![BundleImage {
                source: "docker.io/library/nginx:1.25|`x".into(),
                target: "mirror/library/nginx:1.25".into(),
                digest: "sha256:aa".into(),
                platform: Some("linux/amd64".into()),
                file: "library_nginx_1.25.docker.tar".into(),
                size: 3 * 1024 * 1024,
                sha256: "ff".into(),
            }],
        };
        let readme = render(&manifest);
        assert!(
            readme.contains(
                "| `docker.io/library/nginx:1.25 'x` | `library_nginx_1.25.docker.tar` | 3.0 MiB |"
            ),
            "{readme}"
        );
        assert!(readme.contains("./push.sh registry.example.com/mirror"));
        assert!(readme.contains("docker load"));
        assert_eq!(sha256sums(&manifest), "ff  library_nginx_1.25.docker.tar\n");
        assert_eq!(human_size(512), "512 B");
    }
}
