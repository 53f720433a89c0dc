//! The pages' stylesheet, script and icon, compiled in, and the short hash of their contents
//! that their URLs carry (`?v=`), so browsers may cache them for a year. The page templates
//! read the hash; `web::assets` serves the files.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub const FILES: [(&str, &str, &str); 3] = [
    ("veedor.css", "text/css; charset=utf-8", include_str!("../../assets/web/veedor.css")),
    ("veedor.js", "text/javascript; charset=utf-8", include_str!("../../assets/web/veedor.js")),
    ("icon.svg", "image/svg+xml", include_str!("../../assets/web/icon.svg")),
];

/// A short hash of every asset, appended to their URLs.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = Sha256::new();
    for (_, _, body) in FILES {
        hasher.update(body.as_bytes());
    }
    hex::encode(&hasher.finalize()[..6])
});
