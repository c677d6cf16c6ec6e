//! Config files never hold secrets: the check every config file Pincer
//! reads (`settings.json` today; policy, provider and MCP files next) runs
//! before its values are used, naming the field and the vault name to move
//! it to.

/// The first field of a config file that holds a secret: by its name
/// (`api_key`, `token`, `password`, …) with a non-empty value, or by a value
/// shaped like a credential. Returns the field's path and the vault name to
/// move it to.
pub fn inline_secret(bytes: &[u8]) -> Option<(String, String)> {
    fn walk(
        value: &serde_json::Value,
        at: &str,
        detector: &pincer_guard::LeakDetector,
    ) -> Option<(String, String)> {
        match value {
            serde_json::Value::Object(map) => map.iter().find_map(|(key, value)| {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                let lower = key.to_ascii_lowercase();
                let secret_name = [
                    "api_key",
                    "apikey",
                    "token",
                    "password",
                    "secret",
                    "private_key",
                ]
                .iter()
                .any(|n| lower.contains(n));
                if secret_name && value.as_str().is_some_and(|v| !v.trim().is_empty()) {
                    let provider = lower
                        .split(['_', '-'])
                        .next()
                        .filter(|p| !p.is_empty() && *p != "api")
                        .unwrap_or("name");
                    return Some((path, format!("provider/{provider}")));
                }
                walk(value, &path, detector)
            }),
            serde_json::Value::Array(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{at}[{i}]"), detector)),
            serde_json::Value::String(text) => detector.scan(text).first().map(|leak| {
                (
                    at.to_string(),
                    format!("provider/{}", leak.kind.label().trim_end_matches("-key")),
                )
            }),
            _ => None,
        }
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    walk(&value, "", &pincer_guard::LeakDetector::shapes_only())
}

#[cfg(test)]
mod tests {
    use super::inline_secret;

    #[test]
    fn config_files_with_inline_secrets_are_named() {
        let by_name = br#"{"theme": "dark", "openai_api_key": "abc123"}"#;
        assert_eq!(
            inline_secret(by_name),
            Some(("openai_api_key".into(), "provider/openai".into()))
        );
        let by_shape =
            br#"{"providers": [{"name": "x", "key": "sk-proj-abcdefghijklmnopqrstuvwx"}]}"#;
        assert_eq!(
            inline_secret(by_shape),
            Some(("providers[0].key".into(), "provider/openai".into()))
        );
        assert_eq!(
            inline_secret(br#"{"gateway_enabled": true, "gateway_port": 18789, "token_note": ""}"#),
            None
        );
    }
}
