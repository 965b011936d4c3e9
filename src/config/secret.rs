//! An API key that can never be printed by accident.
//!
//! `Secret` has no `Display` of its contents and a redacted `Debug`, so a key that
//! ends up inside a config dump, an error chain or a `tracing` field prints as
//! `[redacted]`. The only way to the bytes is [`Secret::expose`], which the HTTP
//! layer calls when it builds a request header.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The key itself, for an outgoing request header and nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_key() {
        let key = Secret::new("sk-live-RECOGNISABLE-1234");
        assert!(!format!("{key:?}").contains("RECOGNISABLE"));
        assert!(!format!("{key}").contains("RECOGNISABLE"));
        assert_eq!(key.expose(), "sk-live-RECOGNISABLE-1234");
    }
}
