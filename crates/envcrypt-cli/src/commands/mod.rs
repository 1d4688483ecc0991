//! One module per subcommand: its clap arguments next to its `exec`, which turns them into
//! library calls.

pub mod alias;
pub mod audit;
pub mod completions;
pub mod conformance;
pub mod credentials;
pub mod grant;
pub mod hsm;
pub mod import;
pub mod inspect;
pub mod key;
pub mod kms;
pub mod man;
pub mod open;
pub mod rewrap;
pub mod rotation;
pub mod seal;
pub mod serve;
pub mod signing;
pub mod tags;
