//! Password hashing with argon2id at the OWASP-recommended cost (19 MiB, two passes, one
//! lane). Hashing runs on the blocking pool so that it never stalls request handling.

use std::sync::LazyLock;

use anyhow::Context;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use rand::{Rng, distr::Alphanumeric};

fn hasher() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let hash = hasher()?.hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("argon2: {e}"))?;
        Ok(hash.to_string())
    })
    .await
    .context("password hashing task")?
}

/// A hash of nothing in particular, verified against when the account does not exist so that
/// an unknown e-mail costs as long as a wrong password.
static DECOY: LazyLock<Option<String>> =
    LazyLock::new(|| hasher().ok()?.hash_password(b"veedor decoy password").ok().map(|h| h.to_string()));

/// Verifies `password` against `hash`, or against a decoy when there is no account.
pub async fn verify(password: String, hash: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let Some(encoded) = hash.or_else(|| DECOY.clone()) else {
            return Ok(false);
        };
        let parsed = PasswordHash::new(&encoded).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        let ok = hasher()?.verify_password(password.as_bytes(), &parsed).is_ok();
        Ok(real && ok)
    })
    .await
    .context("password verification task")?
}

/// A random password of 20 letters and digits (about 119 bits).
pub fn generate() -> String {
    rand::rng().sample_iter(&Alphanumeric).take(20).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_are_salted() {
        let a = hash("correct horse battery".into()).await.unwrap();
        let b = hash("correct horse battery".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(a, b);
        assert!(verify("correct horse battery".into(), Some(a.clone())).await.unwrap());
        assert!(!verify("wrong horse battery".into(), Some(a)).await.unwrap());
        assert!(!verify("anything".into(), None).await.unwrap());
        assert_eq!(generate().len(), 20);
    }
}
