//! Shared by the end-to-end test files: the image set pushed to the source registry.
#![allow(dead_code)]

use docker_sync_tests::{build_image, push_layout, ImageSpec, Registry};

/// A source image: its repository path, tag and the digest the source registry reports.
pub struct Pushed {
    pub repo: String,
    pub tag: String,
    pub digest: String,
}

impl Pushed {
    /// How the job refers to it.
    pub fn reference(&self, source_host: &str) -> String {
        format!("{source_host}/{}:{}", self.repo, self.tag)
    }
}

/// Pushes `repos` (path, tag) with small single-platform images sharing a base layer, and a
/// multi-arch index for every path starting with `multi`.
pub fn push_images(source: &Registry, repos: &[(&str, &str)], layer_bytes: usize) -> Vec<Pushed> {
    repos
        .iter()
        .map(|(repo, tag)| {
            let unique = format!("{repo}:{tag}");
            let spec = if repo.starts_with("multi") {
                ImageSpec::multi_arch(
                    "base",
                    &unique,
                    layer_bytes,
                    &[("linux", "amd64"), ("linux", "arm64")],
                )
            } else {
                ImageSpec::single("base", &unique, layer_bytes)
            };
            let image = build_image(&spec, tag);
            let digest = push_layout(source, &image, repo, tag);
            Pushed {
                repo: repo.to_string(),
                tag: tag.to_string(),
                digest,
            }
        })
        .collect()
}

/// The standard set: multi-level paths, a multi-arch index, shared base layers.
pub const EIGHT: [(&str, &str); 9] = [
    ("a/b/c/img", "1"),
    ("a/b/c/img", "2"),
    ("x/y", "1"),
    ("multi/arch", "1"),
    ("team/app", "1.0"),
    ("team/app", "1.1"),
    ("tools/busy", "1"),
    ("deep/er/path/z", "3"),
    ("solo", "latest"),
];
