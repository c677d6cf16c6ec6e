//! Which secrets Pincer keeps, and what each is for, so `pincer secrets
//! list` can say where a secret is used without showing it.

use crate::VaultError;

/// The gateway's bearer token.
pub const GATEWAY_TOKEN: &str = "gateway-token";
/// 32 random bytes from which the audit checkpoint key and the sealing key
/// are derived.
pub const MASTER_KEY: &str = "master-key";
/// The audit log's newest signed record (`seq:hash`), kept outside the
/// database so a log deleted whole is noticed. Not secret, but it must not
/// be where the database is.
pub const AUDIT_ANCHOR: &str = "audit-anchor";
/// Cloud provider API keys are named `provider/<id>`, e.g. `provider/openai`.
pub const PROVIDER_PREFIX: &str = "provider/";

/// Checks that `name` is a secret name: 1–64 characters of `a-z 0-9 - _ . /`,
/// starting with a letter or digit.
pub fn validate(name: &str) -> Result<(), VaultError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c));
    if ok {
        Ok(())
    } else {
        Err(VaultError::InvalidName(name.to_string()))
    }
}

/// Where Pincer uses the secret called `name`.
pub fn purpose(name: &str) -> String {
    match name {
        GATEWAY_TOKEN => "authenticates clients of the local gateway (HTTP API and web UI)".into(),
        MASTER_KEY => "keys the audit log's signed checkpoints and sealed soul files".into(),
        AUDIT_ANCHOR => {
            "remembers the audit log's newest signed record, so a log deleted whole is noticed"
                .into()
        }
        _ => match name.strip_prefix(PROVIDER_PREFIX) {
            Some(provider) => format!("API key for the cloud provider '{provider}'"),
            None => "stored by the owner; not used by Pincer itself".into(),
        },
    }
}

/// The environment variable that carries `name` when the vault reads the
/// environment (`PINCER_VAULT=env`): `PINCER_SECRET_` and the name in upper
/// case with `-./` turned into `_`.
pub fn env_var(name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("PINCER_SECRET_{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_explained() {
        assert!(validate("gateway-token").is_ok());
        assert!(validate("provider/openai").is_ok());
        for bad in ["", "Gateway", "-x", "a b", "../x\n", &"a".repeat(65)] {
            assert!(validate(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(purpose("provider/openai").contains("openai"));
        assert_eq!(
            env_var("provider/open-ai"),
            "PINCER_SECRET_PROVIDER_OPEN_AI"
        );
    }
}
