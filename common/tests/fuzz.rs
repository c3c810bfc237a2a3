//! Property-based fuzzing of every parser that takes user input: image references, the image
//! list and its tag selectors, platforms, replacement levels, filters and registries.yaml. None
//! may panic, whatever it is given; what they accept must hold up. A failing input is kept by
//! proptest in `fuzz.proptest-regressions` next to this file and replayed first on every run.

use std::path::Path;

use docker_sync_common::config::Config;
use docker_sync_common::image::mapping::ReplaceLevel;
use docker_sync_common::image::selection::natural_cmp;
use docker_sync_common::image::selection::parse_selector_list;
use docker_sync_common::image::selection::TagSelector;
use docker_sync_common::image::{ImageFilter, ImageRef, Platform};
use proptest::prelude::*;

/// Text biased towards the characters image names, selectors and YAML are made of, with some
/// of anything.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[a-z0-9:/@._*?=#{}\\[\\]!, \t\n-]{0,80}",
        1 => "[A-Za-z0-9:/@._*?=#{}|&%$~^`'\"\\\\\\[\\] \t\r\n-]{0,120}",
        1 => any::<String>(),
    ]
}

/// Lines of an image list: plausible ones mixed with junk.
fn list_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        "[a-z]{1,8}(\\.[a-z]{2,3})?(:[0-9]{1,5})?/[a-z0-9]{1,8}(/[a-z0-9._-]{1,8}){0,3}(:[a-z0-9.*?_-]{1,10})?",
        "[a-z0-9]{1,10}:@latest=[0-9]{0,4}",
        "[a-z0-9]{1,10}@sha256:[0-9a-f]{0,70}",
        "# [a-z ]{0,20}",
        texty(),
    ];
    prop::collection::vec(line, 0..12).prop_map(|lines| lines.join("\n"))
}

/// registries.yaml documents: fragments of real keys and values, nested or not, and junk.
fn yaml_text() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("registries"),
        Just("url"),
        Just("username"),
        Just("password"),
        Just("namespace"),
        Just("insecure"),
        Just("type"),
        Just("proxy"),
        Just("no_proxy"),
        Just("sync_config"),
        Just("retry_count"),
        Just("timeout"),
        Just("filters"),
        Just("include"),
        Just("exclude"),
        Just("logging"),
        Just("level"),
    ];
    let value = prop_oneof![
        Just(String::new()),
        Just("true".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("[a, b]".to_owned()),
        Just("{}".to_owned()),
        Just("\"http://127.0.0.1:5000\"".to_owned()),
        "[a-z0-9:/._-]{0,20}",
        texty().prop_map(|t| t.replace('\n', " ")),
    ];
    let line =
        (0usize..4, key, value).prop_map(|(depth, k, v)| format!("{}{k}: {v}", "  ".repeat(depth)));
    prop_oneof![
        4 => prop::collection::vec(line, 0..16).prop_map(|l| l.join("\n")),
        1 => texty(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn image_references_parse_or_refuse(text in texty()) {
        if let Ok(image) = ImageRef::parse(&text) {
            // What is accepted prints as something that parses to the same image.
            prop_assert_eq!(ImageRef::parse(&image.to_string()).unwrap(), image);
        }
    }

    #[test]
    fn tag_selectors_parse_or_refuse(text in texty()) {
        let _ = TagSelector::parse(text.trim());
    }

    #[test]
    fn image_lists_keep_every_line_accounted_for(text in list_text()) {
        let list = parse_selector_list(&text);
        let lines = text.lines().count();
        for e in &list.errors {
            prop_assert!(e.line >= 1 && e.line <= lines.max(1), "line {} of {}", e.line, lines);
        }
    }

    #[test]
    fn platforms_and_levels_parse_or_refuse(text in texty()) {
        let _ = text.parse::<Platform>();
        let _ = Platform::parse_option(Some(&text));
        let _ = text.parse::<ReplaceLevel>();
    }

    #[test]
    fn filters_build_or_refuse(include in prop::collection::vec(texty(), 0..3), exclude in prop::collection::vec(texty(), 0..3)) {
        if let Ok(filter) = ImageFilter::new(&include, &exclude) {
            let image = ImageRef::parse("docker.io/library/nginx:1.25").unwrap();
            let _ = filter.check(&image);
        }
    }

    #[test]
    fn natural_order_is_a_total_order(a in "[a-z0-9.-]{0,12}", b in "[a-z0-9.-]{0,12}") {
        prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
    }

    #[test]
    fn registries_yaml_loads_or_names_the_problem(text in yaml_text()) {
        if let Err(e) = Config::parse(&text, Path::new("registries.yaml"), false) {
            let message = e.to_string();
            prop_assert!(message.contains("registries.yaml"), "the error names the file: {message}");
        }
    }
}
