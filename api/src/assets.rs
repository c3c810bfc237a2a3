//! The web UI, embedded in the binary. A single-page app: unknown paths without a file
//! extension get `index.html` (the page routes itself); a missing file is a real 404.

use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../web/"]
struct Assets;

pub async fn serve(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    if let Some(file) = Assets::get(path) {
        return file_response(path, file);
    }
    let last = path.rsplit('/').next().unwrap_or("");
    if last.contains('.') || path.starts_with("api/") {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    match Assets::get("index.html") {
        Some(file) => file_response("index.html", file),
        None => (
            StatusCode::NOT_FOUND,
            "the web UI was not built into this binary",
        )
            .into_response(),
    }
}

fn file_response(path: &str, file: rust_embed::EmbeddedFile) -> Response {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    // index.html must be re-fetched so a new release's assets are picked up.
    let cache = if path == "index.html" {
        "no-cache"
    } else {
        "public, max-age=300"
    };
    (
        [
            (header::CONTENT_TYPE, mime.as_ref().to_owned()),
            (header::CACHE_CONTROL, cache.to_owned()),
        ],
        file.data,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::Assets;

    /// The page loads a couple of dozen files by absolute path. One that is missing from the
    /// binary is only a 404 in the browser, and the page carries on unstyled or half-wired.
    #[test]
    fn every_file_index_html_links_is_embedded() {
        let page = Assets::get("index.html").expect("index.html is embedded");
        let page = std::str::from_utf8(&page.data).expect("index.html is UTF-8");
        let mut checked = 0;
        for attr in ["href=\"/", "src=\"/"] {
            for (at, _) in page.match_indices(attr) {
                let rest = &page[at + attr.len()..];
                let path = &rest[..rest.find('"').expect("a closing quote")];
                // Page routes ("/", "/tokens") are not files.
                if !path.contains('.') {
                    continue;
                }
                assert!(
                    Assets::get(path).is_some(),
                    "index.html links /{path}, which is not embedded"
                );
                checked += 1;
            }
        }
        assert!(checked > 0, "found no linked files in index.html");
    }

    /// The statistics charts import uPlot from a script, which the test above does not see;
    /// its licence must ship with it.
    #[test]
    fn the_vendored_chart_library_is_embedded_with_its_licence() {
        let module = Assets::get("vendor/uplot/uPlot.esm.js").expect("uPlot is embedded");
        let module = std::str::from_utf8(&module.data).expect("uPlot is UTF-8");
        assert!(
            module.contains("export { uPlot as default }"),
            "an ES module"
        );
        let charts = Assets::get("stats-charts.js").expect("stats-charts.js is embedded");
        let charts = std::str::from_utf8(&charts.data).expect("UTF-8");
        assert!(charts.contains("\"./vendor/uplot/uPlot.esm.js\""));
        let licence = Assets::get("vendor/uplot/LICENSE").expect("uPlot's licence is embedded");
        assert!(std::str::from_utf8(&licence.data)
            .expect("UTF-8")
            .contains("The MIT License"));
        let mime = mime_guess::from_path("vendor/uplot/uPlot.esm.js").first_or_octet_stream();
        assert!(mime.as_ref().ends_with("javascript"), "served as {mime}");
    }
}
