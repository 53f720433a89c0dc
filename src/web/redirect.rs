//! Where a redirect taken from input may lead: a path on this site, never another one.
//!
//! Every `Location` built from something the visitor sent (`next` on the login page and form,
//! the language switch, the sign-in detour, the approvals queue's `back`) goes through
//! [`LocalPath`], so that one rule decides what is local. Browsers drop tabs and newlines
//! inside a URL and read `\` as `/`, so `/\t/evil.example` or `/\evil.example` lead off-site
//! although they start with `/`; a percent-encoded `/%2F/evil.example` or `/%09/…` is read the
//! same way once decoded.

/// A same-origin path (with its query): starts with exactly one `/`, holds only visible ASCII
/// (anything else must be percent-encoded), and neither it nor its percent-decoded form has a
/// control character or begins with `//` or `/\`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    /// The home page, where a refused target falls back to.
    pub fn home() -> Self {
        Self("/".into())
    }

    /// `raw` if it is a local path, else `None`.
    pub fn parse(raw: &str) -> Option<Self> {
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return None;
        }
        let decoded = percent_decode(raw.as_bytes());
        for candidate in [raw.as_bytes(), decoded.as_slice()] {
            if !is_local(candidate) {
                return None;
            }
        }
        Some(Self(raw.to_string()))
    }

    /// `raw` if it is a local path, else the home page.
    pub fn or_home(raw: Option<&str>) -> Self {
        raw.and_then(Self::parse).unwrap_or_else(Self::home)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for LocalPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_local(path: &[u8]) -> bool {
    match path {
        [b'/', second, ..] if *second == b'/' || *second == b'\\' => false,
        [b'/', ..] => !path.iter().any(|b| b.is_ascii_control()),
        _ => false,
    }
}

/// `%XX` sequences decoded to their bytes; anything else kept as it is.
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (raw[i], raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push(u8::try_from(high * 16 + low).unwrap_or(b'%'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::LocalPath;

    #[test]
    fn local_paths_are_kept() {
        for ok in ["/", "/engagements/1?x=2", "/approvals?view=mine&page=2", "/a%20b", "/reports/1#values", "/a//b"] {
            assert_eq!(LocalPath::or_home(Some(ok)).as_str(), ok, "{ok:?}");
        }
    }

    #[test]
    fn anything_that_could_leave_the_site_falls_back_home() {
        let hostile = [
            "",
            "//evil.example/",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/\r\nSet-Cookie: x=1",
            "/%0d%0aSet-Cookie:%20x=1",
            "/%0D%0ALocation:%20https://evil.example",
            "/ok\u{0}",
            "/%00",
            "/%7f",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            "evil.example",
            " /x",
            "/x y",
            "/ñ",
        ];
        for bad in hostile {
            assert_eq!(LocalPath::or_home(Some(bad)), LocalPath::home(), "{bad:?}");
        }
        assert_eq!(LocalPath::or_home(None), LocalPath::home());
    }
}
