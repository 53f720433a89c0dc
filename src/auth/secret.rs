//! Random secrets (session cookies, API tokens, CSRF tokens) and the fast digest under which
//! they are stored. Secrets are 256 random bits, so a plain SHA-256 is enough to store them:
//! unlike passwords they cannot be guessed, and they are checked on every request.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// 32 random bytes, base64url-encoded (43 characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a secret, as stored (hex).
pub fn digest(secret: &str) -> String {
    hex::encode(digest_bytes(secret))
}

/// The SHA-256 of a secret, raw: the key of in-memory lookups on the hot path.
pub fn digest_bytes(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The raw digest of a stored (hex) one.
pub fn digest_from_hex(stored: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(stored, &mut out).ok()?;
    Some(out)
}

/// Compares two strings in time that depends only on their length.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_distinct_and_digested() {
        let (a, b) = (generate(), generate());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 64);
        assert_eq!(digest(&a), digest(&a));
        assert_eq!(digest_from_hex(&digest(&a)), Some(digest_bytes(&a)));
        assert_eq!(digest_from_hex("zz"), None);
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &b));
        assert!(!constant_time_eq("ab", "abc"));
    }
}
