//! The two archive kinds a job can export to, as skopeo names its transports.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum ArchiveFormat {
    /// A tar `docker load` takes. It holds one platform: a multi-arch image needs the job's
    /// platform.
    DockerArchive,
    /// An OCI image layout in a tar: every platform of a multi-arch image.
    OciArchive,
}

impl ArchiveFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            ArchiveFormat::DockerArchive => "docker-archive",
            ArchiveFormat::OciArchive => "oci-archive",
        }
    }

    pub fn parse(s: &str) -> Option<ArchiveFormat> {
        match s {
            "docker-archive" => Some(ArchiveFormat::DockerArchive),
            "oci-archive" => Some(ArchiveFormat::OciArchive),
            _ => None,
        }
    }

    /// The end of a file name: `.docker.tar` and `.oci.tar`, so a file says how to load it.
    pub fn extension(self) -> &'static str {
        match self {
            ArchiveFormat::DockerArchive => ".docker.tar",
            ArchiveFormat::OciArchive => ".oci.tar",
        }
    }

    /// Whether the archive can hold every platform of an index.
    pub fn holds_every_platform(self) -> bool {
        matches!(self, ArchiveFormat::OciArchive)
    }
}
