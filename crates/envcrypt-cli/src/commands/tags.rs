//! `envcrypt key tags ...`: TagResource, UntagResource, ListResourceTags.

use envcrypt::kms::{KeyTagging, KmsError, Tag};
use serde_json::json;

use crate::error::CliError;
use crate::flags::{key_ref, GlobalArgs};
use crate::print;

/// Add, remove or list a key's tags.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Tag a key (a tag whose key is already there gets the new value).
    #[command(after_help = "Example:\n  envcrypt key tags add alias/backup team=storage cost-center=42")]
    Add {
        /// The key (key id or key ARN).
        key: String,
        /// KEY=VALUE; keys of 1 to 128 characters not starting with aws:, values up to 256;
        /// at most 50 tags per key.
        #[arg(required = true, value_name = "KEY=VALUE", value_parser = tag)]
        tags: Vec<Tag>,
    },
    /// Remove tags by key (keys not there are ignored).
    #[command(after_help = "Example:\n  envcrypt key tags remove alias/backup cost-center")]
    Remove {
        /// The key (key id or key ARN).
        key: String,
        /// Tag keys.
        #[arg(required = true, value_name = "TAG_KEY")]
        tag_keys: Vec<String>,
    },
    /// List a key's tags.
    #[command(after_help = "Example:\n  envcrypt key tags list --json alias/backup")]
    List {
        /// The key (key id or key ARN).
        key: String,
    },
}

/// A `KEY=VALUE` argument as a tag.
pub fn tag(text: &str) -> Result<Tag, String> {
    let (key, value) = text.split_once('=').ok_or_else(|| "expected KEY=VALUE".to_owned())?;
    Ok(Tag::new(key, value))
}

/// The key a tags command names.
pub fn key_of(command: &Command) -> &str {
    match command {
        Command::Add { key, .. } | Command::Remove { key, .. } | Command::List { key } => key,
    }
}

pub fn exec(command: &Command, tagging: &dyn KeyTagging, global: &GlobalArgs) -> Result<(), CliError> {
    let key = key_of(command);
    let target = key_ref(key)?;
    let failed = |op: &'static str| move |e: KmsError| CliError::kms(format!("cannot {op} {key}"), &e);
    match command {
        Command::Add { tags, .. } => tagging.tag_resource(&target, tags).wait().map_err(failed("tag"))?,
        Command::Remove { tag_keys, .. } => {
            tagging.untag_resource(&target, tag_keys).wait().map_err(failed("untag"))?;
        }
        Command::List { .. } => {}
    }
    // After a change, the tags are shown if the caller may list them; the change stands either way.
    let tags = match (tagging.list_resource_tags(&target).wait(), command) {
        (Ok(tags), _) => tags,
        (Err(_), Command::Add { tags, .. }) => return print::line(&format!("{key}: {} tags set", tags.len())),
        (Err(_), Command::Remove { tag_keys, .. }) => {
            return print::line(&format!("{key}: {} tags removed", tag_keys.len()))
        }
        (Err(e), Command::List { .. }) => return Err(failed("list the tags of")(e)),
    };
    if global.json {
        let entries: Vec<_> = tags.iter().map(|t| json!({ "TagKey": t.key, "TagValue": t.value })).collect();
        print::json(&json!({ "Tags": entries }))
    } else {
        print::lines(&tags.iter().map(|t| format!("{}={}", t.key, t.value)).collect::<Vec<_>>())
    }
}
