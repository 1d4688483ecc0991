//! Where a cluster is and how to talk to it: the module, the tokens, the vendor's mechanisms,
//! the failover back-off. Everything but the PINs, which never sit in a file or an argument.
//!
//! [`ClusterConfig::resolve`] merges the settings a user gives (a JSON file, then explicit
//! values over it) into one configuration, refusing what is missing or malformed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::mechanisms::{Mechanisms, WrapMechanism};

/// The cluster's settings, without any PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterConfig {
    /// The PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The labels of the cluster's tokens, one or more.
    pub tokens: Vec<String>,
    /// The vendor's mechanism choices.
    pub mechanisms: Mechanisms,
    /// How long a failed token is skipped before it is tried again.
    pub retry_after: Duration,
}

/// Settings the user gave: each explicit one wins over the file's.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources<'a> {
    /// A JSON file: `{"module": PATH, "tokens": [LABEL, ...], "mechanisms": "softhsm"|"cloudhsm",
    /// "wrap_mechanism": "0xCODE", "retry_after_seconds": N}`.
    pub file: Option<&'a Path>,
    /// The module.
    pub module: Option<PathBuf>,
    /// The token labels (none: the file's).
    pub tokens: Vec<String>,
    /// The mechanism variant's name.
    pub mechanisms: Option<String>,
}

/// Why a cluster configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read or parsed.
    #[error("PKCS#11 configuration {}: {reason}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No module was given.
    #[error("no PKCS#11 module is configured")]
    NoModule,
    /// No token was given.
    #[error("no PKCS#11 token is configured")]
    NoTokens,
    /// An unknown mechanism variant.
    #[error("unknown PKCS#11 mechanism variant {0:?}: softhsm or cloudhsm")]
    UnknownVariant(String),
    /// A wrap mechanism code that is not hex.
    #[error("wrap_mechanism {0:?} is not a hexadecimal mechanism code")]
    BadWrapMechanism(String),
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    module: Option<PathBuf>,
    #[serde(default)]
    tokens: Vec<String>,
    mechanisms: Option<String>,
    wrap_mechanism: Option<String>,
    retry_after_seconds: Option<u64>,
}

impl ClusterConfig {
    /// A cluster of `tokens` in `module`, with the SoftHSM2 mechanisms and a 5-second back-off.
    pub fn new(module: impl Into<PathBuf>, tokens: Vec<String>) -> Self {
        Self { module: module.into(), tokens, mechanisms: Mechanisms::softhsm(), retry_after: Duration::from_secs(5) }
    }

    /// Merges `sources`: explicit values over the file's, defaults for the rest.
    pub fn resolve(sources: &ConfigSources<'_>) -> Result<Self, ConfigError> {
        let file: ConfigFile = match sources.file {
            None => ConfigFile::default(),
            Some(path) => {
                let failed = |reason: String| ConfigError::File { path: path.to_path_buf(), reason };
                let text = std::fs::read_to_string(path).map_err(|e| failed(e.to_string()))?;
                serde_json::from_str(&text).map_err(|e| failed(e.to_string()))?
            }
        };
        let module = sources.module.clone().or(file.module).ok_or(ConfigError::NoModule)?;
        let tokens = if sources.tokens.is_empty() { file.tokens } else { sources.tokens.clone() };
        if tokens.is_empty() {
            return Err(ConfigError::NoTokens);
        }
        let variant = sources.mechanisms.clone().or(file.mechanisms).unwrap_or_else(|| "softhsm".into());
        let mut mechanisms = Mechanisms::named(&variant).ok_or(ConfigError::UnknownVariant(variant))?;
        if let Some(code) = file.wrap_mechanism {
            let value = u64::from_str_radix(code.trim_start_matches("0x"), 16)
                .map_err(|_| ConfigError::BadWrapMechanism(code.clone()))?;
            mechanisms.wrap = WrapMechanism::Vendor(value);
        }
        let mut config = Self::new(module, tokens);
        config.mechanisms = mechanisms;
        if let Some(seconds) = file.retry_after_seconds {
            config.retry_after = Duration::from_secs(seconds);
        }
        Ok(config)
    }
}

/// A cluster configuration and the user PIN that logs in to its tokens.
#[derive(Clone)]
pub struct Pkcs11Options {
    /// The cluster.
    pub cluster: ClusterConfig,
    /// The user PIN (from the environment or a prompt; never a command-line argument).
    pub pin: Zeroizing<String>,
}

impl std::fmt::Debug for Pkcs11Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Options").field("cluster", &self.cluster).field("pin", &"** redacted **").finish()
    }
}

impl Pkcs11Options {
    /// Options for `module` and `tokens` with the SoftHSM2 mechanisms and a 5-second back-off.
    pub fn new(module: impl Into<PathBuf>, tokens: Vec<String>, pin: Zeroizing<String>) -> Self {
        Self { cluster: ClusterConfig::new(module, tokens), pin }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_settings_win_over_the_file_and_mistakes_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hsm.json");
        std::fs::write(
            &file,
            r#"{"module":"/lib/a.so","tokens":["x","y"],"mechanisms":"cloudhsm","wrap_mechanism":"0x80000010","retry_after_seconds":9}"#,
        )
        .unwrap();
        let from_file = ClusterConfig::resolve(&ConfigSources { file: Some(&file), ..Default::default() }).unwrap();
        assert_eq!(from_file.tokens, ["x", "y"]);
        assert_eq!(from_file.mechanisms.wrap, WrapMechanism::Vendor(0x8000_0010));
        assert_eq!(from_file.mechanisms.name(), "cloudhsm");
        assert_eq!(from_file.retry_after, Duration::from_secs(9));
        let over = ConfigSources {
            file: Some(&file),
            module: Some("/lib/b.so".into()),
            tokens: vec!["z".into()],
            mechanisms: Some("softhsm".into()),
        };
        let merged = ClusterConfig::resolve(&over).unwrap();
        assert_eq!((merged.module.to_str(), merged.tokens.as_slice()), (Some("/lib/b.so"), &["z".to_owned()][..]));
        assert_eq!(merged.mechanisms.name(), "softhsm");

        assert_eq!(ClusterConfig::resolve(&ConfigSources::default()), Err(ConfigError::NoModule));
        let no_tokens = ConfigSources { module: Some("/lib/a.so".into()), ..Default::default() };
        assert_eq!(ClusterConfig::resolve(&no_tokens), Err(ConfigError::NoTokens));
        let bad = ConfigSources { mechanisms: Some("luna".into()), tokens: vec!["t".into()], ..no_tokens };
        assert_eq!(ClusterConfig::resolve(&bad), Err(ConfigError::UnknownVariant("luna".into())));
        std::fs::write(&file, r#"{"modul":"/lib/a.so"}"#).unwrap();
        let err = ClusterConfig::resolve(&ConfigSources { file: Some(&file), ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("unknown field") && err.to_string().contains("hsm.json"), "{err}");
    }
}
