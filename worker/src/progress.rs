//! Turns skopeo's line-per-step output (what it prints without a TTY) into progress figures.
//!
//! skopeo 1.9 prints, per image: `Getting image source signatures`, one `Copying blob sha256:…`
//! per layer (with `skipped: already exists` when the target has it), `Copying config sha256:…`,
//! `Writing manifest to image destination`; for a multi-arch index first
//! `Copying N of M images in list`, per image `Copying image sha256:… (i/M)`, and at the end
//! `Writing manifest list to image destination`.

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Progress {
    pub blobs_done: u32,
    pub images_done: u32,
    pub images_total: Option<u32>,
    /// The line that caused this update, shortened.
    pub step: String,
}

#[derive(Debug, Default)]
pub struct ProgressParser {
    state: Progress,
}

impl ProgressParser {
    /// Feeds one output line; returns the new state when the line was a step.
    pub fn feed(&mut self, line: &str) -> Option<Progress> {
        let line = line.trim();
        let s = &mut self.state;
        if line.starts_with("Copying blob ") {
            s.blobs_done += 1;
        } else if line.starts_with("Writing manifest to image destination") {
            s.images_done += 1;
            s.images_total.get_or_insert(1);
        } else if let Some(rest) = line.strip_prefix("Copying ") {
            // `Copying 2 of 2 images in list`
            let total = rest
                .strip_suffix(" images in list")
                .and_then(|r| r.split_once(" of "))
                .and_then(|(_, m)| m.parse().ok());
            match total {
                Some(m) => s.images_total = Some(m),
                None if line.starts_with("Copying config ")
                    || line.starts_with("Copying image ") => {}
                None => return None,
            }
        } else if !line.starts_with("Writing manifest list")
            && !line.starts_with("Getting image")
            && !line.starts_with("Storing")
        {
            return None;
        }
        s.step = shorten(line);
        Some(s.clone())
    }
}

/// `Copying blob sha256:0123456789ab…` is enough for a person to follow.
fn shorten(line: &str) -> String {
    match line.find("sha256:") {
        Some(i) if line.len() > i + 19 => format!("{}…", &line[..i + 19]),
        _ => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_blobs_and_images_of_a_list() {
        let mut p = ProgressParser::default();
        let out = [
            "Getting image list signatures",
            "Copying 2 of 2 images in list",
            "Copying image sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa (1/2)",
            "Getting image source signatures",
            "Copying blob sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            "Copying blob sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
            "Copying config sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd",
            "Writing manifest to image destination",
            "some unrelated warning",
            "Writing manifest list to image destination",
            "Storing list signatures",
        ];
        let updates: Vec<Progress> = out.iter().filter_map(|l| p.feed(l)).collect();
        assert_eq!(updates.len(), 10);
        let last = updates.last().unwrap();
        assert_eq!(last.blobs_done, 2);
        assert_eq!(last.images_done, 1);
        assert_eq!(last.images_total, Some(2));
        assert_eq!(updates[4].step, "Copying blob sha256:bbbbbbbbbbbb…");
    }

    #[test]
    fn a_single_image_counts_as_one_of_one() {
        let mut p = ProgressParser::default();
        p.feed("Copying blob sha256:ab skipped: already exists");
        let last = p.feed("Writing manifest to image destination").unwrap();
        assert_eq!(
            (last.blobs_done, last.images_done, last.images_total),
            (1, 1, Some(1))
        );
    }
}
