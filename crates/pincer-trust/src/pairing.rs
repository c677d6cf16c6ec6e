//! Handing the gateway token to a client: revealed to the owner (audited),
//! or traded for a one-time pairing code (`POST /api/pair`), so the address
//! `pincer serve` prints carries no secret.

use crate::{Action, Actor, Result, Trust, TrustError};
use pincer_vault::{names, Secret};
use std::time::{Duration, Instant};

/// How long a pairing code works.
const PAIRING_LIFETIME: Duration = Duration::from_secs(600);

/// The one pairing code in force, if any, and when it stops working.
pub(crate) type Pairing = std::sync::Mutex<Option<(Secret, Instant)>>;

impl Trust {
    /// The API token's text, for the owner to copy into a client; not
    /// shown when its showing cannot be audited.
    pub fn reveal_token(&self) -> Result<String> {
        self.record(
            Actor::Owner,
            Action::SecretUse,
            names::GATEWAY_TOKEN,
            "revealed",
            serde_json::json!({}),
        )?;
        Ok(self.token().expose().to_string())
    }

    /// A one-time code that a browser trades for the token. It works once,
    /// for ten minutes; a new one replaces the last.
    pub fn new_pairing_code(&self) -> String {
        let code = Secret::random_hex("", 12);
        let text = code.expose().to_string();
        *self.pairing.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((code, Instant::now() + PAIRING_LIFETIME));
        text
    }

    /// Trades a pairing code for the token; the code is used up either way
    /// when it matches, and a wrong one is audited.
    pub fn redeem_pairing_code(&self, presented: &str) -> Result<String> {
        let mut pairing = self.pairing.lock().unwrap_or_else(|e| e.into_inner());
        let valid = pairing
            .as_ref()
            .is_some_and(|(code, expires)| code.matches(presented) && Instant::now() < *expires);
        if !valid {
            drop(pairing);
            self.note(
                Actor::Client,
                Action::GatewayPair,
                "pairing code",
                "denied",
                serde_json::json!({}),
            );
            return Err(TrustError::InvalidInput(
                "this pairing code is wrong, used or expired; restart `pincer serve` for a new address, or paste the token `pincer token` prints".into(),
            ));
        }
        *pairing = None;
        drop(pairing);
        // Noted, not required: over a damaged database (which takes no
        // records) the owner must still reach the app to see the damage.
        self.note(
            Actor::Client,
            Action::GatewayPair,
            "pairing code",
            "allowed",
            serde_json::json!({}),
        );
        Ok(self.token().expose().to_string())
    }
}
