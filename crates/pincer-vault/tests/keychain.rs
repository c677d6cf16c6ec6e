//! The vault against the real Secret Service (gnome-keyring-daemon under
//! dbus-run-session, started by scripts/test.sh).

use pincer_vault::{names, Secret, Vault, VaultBackend, VaultError};

fn namespace() -> String {
    format!("test-{}", Secret::random_hex("", 6).expose())
}

#[test]
fn secrets_round_trip_through_the_keychain_per_install() {
    let (ns_a, ns_b) = (namespace(), namespace());
    let a =
        Vault::keychain(&ns_a).expect("the test keychain is running (scripts/test.sh starts it)");
    let b = Vault::keychain(&ns_b).expect("keychain");
    assert_eq!(a.backend(), VaultBackend::Keychain);
    assert!(
        a.get(names::GATEWAY_TOKEN).unwrap().is_none(),
        "a new install has no token"
    );

    let (token, created) = a
        .get_or_create(names::GATEWAY_TOKEN, || Secret::random_hex("pincer-", 32))
        .unwrap();
    assert!(created);
    let (again, created_again) = a
        .get_or_create(names::GATEWAY_TOKEN, || Secret::new("other"))
        .unwrap();
    assert!(!created_again);
    assert_eq!(token, again, "the stored token is read back");
    assert!(
        b.get(names::GATEWAY_TOKEN).unwrap().is_none(),
        "another install does not see it"
    );

    a.set("provider/openai", &Secret::new("sk-test-value"))
        .unwrap();
    a.set("provider/openai", &Secret::new("sk-test-value-2"))
        .unwrap();
    assert_eq!(
        a.require("provider/openai").unwrap().expose(),
        "sk-test-value-2",
        "set replaces"
    );
    let listed: Vec<String> = a
        .list()
        .unwrap()
        .into_iter()
        .map(|info| info.name)
        .collect();
    assert_eq!(
        listed,
        vec!["gateway-token".to_string(), "provider/openai".to_string()]
    );
    assert!(a
        .list()
        .unwrap()
        .iter()
        .all(|info| !info.purpose.contains("sk-test")));

    assert!(a.delete("provider/openai").unwrap());
    assert!(
        !a.delete("provider/openai").unwrap(),
        "a second delete finds nothing"
    );
    let missing = a.require("provider/openai").unwrap_err();
    assert!(matches!(missing, VaultError::Missing { .. }));
    assert!(
        missing
            .to_string()
            .contains("pincer secrets set provider/openai"),
        "{missing}"
    );
    assert!(matches!(
        a.set("Bad Name", &Secret::new("x")),
        Err(VaultError::InvalidName(_))
    ));
    a.delete(names::GATEWAY_TOKEN).unwrap();
}

#[test]
fn the_environment_backend_reads_and_refuses_to_store() {
    let ns = namespace();
    let vault = Vault::environment(&ns);
    // A name no other test uses, so setting the variable races nothing.
    let var = names::env_var("env-only-test");
    assert!(vault.get("env-only-test").unwrap().is_none());
    // This test alone reads or writes this variable.
    std::env::set_var(&var, "from-the-environment");
    assert_eq!(
        vault.require("env-only-test").unwrap().expose(),
        "from-the-environment"
    );
    let refused = vault.set("env-only-test", &Secret::new("x")).unwrap_err();
    assert!(
        refused.to_string().contains("PINCER_SECRET_ENV_ONLY_TEST"),
        "{refused}"
    );
    let missing = vault.require("gateway-token").unwrap_err().to_string();
    assert!(missing.contains("PINCER_SECRET_GATEWAY_TOKEN"), "{missing}");
}

/// Run in a child process with no session bus: the keychain's absence is a
/// clear error that names the fallbacks, and nothing is written anywhere.
#[test]
fn an_absent_keychain_is_a_clear_error() {
    if std::env::var_os("PINCER_VAULT_CHILD").is_some() {
        let error = Vault::keychain("absent").expect_err("no Secret Service is reachable");
        assert!(matches!(error, VaultError::Unreachable { .. }), "{error:?}");
        let text = error.to_string();
        assert!(
            text.contains("PINCER_VAULT=env") && text.contains("never falls back"),
            "{text}"
        );
        return;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "an_absent_keychain_is_a_clear_error",
            "--exact",
            "--test-threads=1",
        ])
        .env("PINCER_VAULT_CHILD", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/pincer-bus",
        )
        .env("XDG_RUNTIME_DIR", "/nonexistent")
        .env_remove("DISPLAY")
        .status()
        .unwrap();
    assert!(status.success(), "the child process saw a different error");
}
