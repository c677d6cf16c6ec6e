//! Shapes of credentials that are secret wherever they appear, even when
//! the vault does not hold them: provider API keys, cloud keys, private
//! keys, JWTs.

use regex::Regex;
use std::sync::LazyLock;

/// A credential shape: its name (what a redaction says) and its pattern.
pub(crate) struct Shape {
    pub(crate) kind: &'static str,
    pub(crate) regex: Regex,
}

/// The shapes, most specific first (an Anthropic key is also `sk-…`).
pub(crate) static SHAPES: LazyLock<Vec<Shape>> = LazyLock::new(|| {
    let shapes: [(&str, &str); 14] = [
        (
            "private-key",
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\z)",
        ),
        ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
        (
            "openai-key",
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        ),
        ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}"),
        ("aws-access-key-id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        (
            "aws-secret-key",
            r#"(?i)aws.{0,20}?secret.{0,20}?[=:]\s*["']?[A-Za-z0-9/+=]{40}\b"#,
        ),
        (
            "github-token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})",
        ),
        ("gitlab-token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
        ("slack-token", r"\bxox[abprs]-[A-Za-z0-9\-]{10,}"),
        ("huggingface-token", r"\bhf_[A-Za-z0-9]{30,}\b"),
        ("stripe-key", r"\b[rs]k_live_[A-Za-z0-9]{20,}"),
        (
            "jwt",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        ),
        ("pincer-token", r"\bpincer-[0-9a-f]{64}\b"),
        (
            "azure-storage-key",
            r"(?i)AccountKey=[A-Za-z0-9/+]{80,}={0,2}",
        ),
    ];
    shapes
        .into_iter()
        .map(|(kind, pattern)| Shape {
            kind,
            regex: Regex::new(pattern).expect("valid shape"),
        })
        .collect()
});

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<&'static str> {
        SHAPES
            .iter()
            .filter(|shape| shape.regex.is_match(text))
            .map(|shape| shape.kind)
            .collect()
    }

    #[test]
    fn common_credentials_are_recognised_and_prose_is_not() {
        assert_eq!(
            kinds("key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv"),
            ["anthropic-key", "openai-key"]
        );
        assert_eq!(
            kinds("OPENAI_API_KEY=sk-proj-abcdefghijklmnopqrstuvwx"),
            ["openai-key"]
        );
        assert_eq!(kinds("AKIAIOSFODNN7EXAMPLE"), ["aws-access-key-id"]);
        assert_eq!(
            kinds("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            ["aws-secret-key"]
        );
        assert_eq!(
            kinds("ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            ["github-token"]
        );
        assert_eq!(kinds("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaA==\n-----END OPENSSH PRIVATE KEY-----"), ["private-key"]);
        assert_eq!(kinds("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"), ["jwt"]);
        assert_eq!(
            kinds("AIzaSyA-0123456789abcdefghijklmnopqrstu"),
            ["google-api-key"]
        );
        assert!(kinds("the task-list has sk-8 items; see ghp_short and eyJ alone").is_empty());
    }
}
