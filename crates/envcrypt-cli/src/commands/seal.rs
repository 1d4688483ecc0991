use envcrypt::kms::local::DEFAULT_KEY_ALIAS;
use envcrypt::stream::{self, SealOptions};
use envcrypt_s3::ObjectUrl;
use serde_json::json;

use super::print_json;
use crate::backends::{parse_context, parse_key, BackendKind, Backends};
use crate::cli::{GlobalArgs, ObjectFormat, SealArgs};
use crate::error::CliError;
use crate::files::{Input, Output};

pub fn exec(args: &SealArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let context = parse_context(&args.context)?;
    let mut keys = args.keys.iter().map(|k| parse_key(k)).collect::<Result<Vec<_>, _>>()?;
    envcrypt::message::check_frame_length(args.frame_size).map_err(|_| {
        CliError::usage(format!("--frame-size {} is not a positive multiple of 16 below 2^31", args.frame_size))
    })?;
    let output_spec = match (&args.files.output, args.files.input.as_str()) {
        (Some(out), _) => out.clone(),
        (None, "-") => "-".to_owned(),
        (None, input) => format!("{input}.enc"),
    };
    let object = ObjectUrl::is_s3(&output_spec).then(|| super::s3::object_url(&output_spec)).transpose()?;
    if object.is_none() && args.format != ObjectFormat::Sealed {
        return Err(CliError::usage(
            "--format s3ec is a format of S3 objects: give -o s3://BUCKET/KEY, or leave --format out",
        ));
    }
    let backends = Backends::new(global)?;
    // The managed default key is created on first use, whether named or implied.
    let names_default = keys.iter().any(|k| k.alias_name() == Some(DEFAULT_KEY_ALIAS));
    if keys.is_empty() || (names_default && backends.default_kind() == BackendKind::Local) {
        let store = backends.local()?;
        let default = store.default_key().map_err(|e| CliError::kms("cannot create the default key", &e))?;
        if keys.is_empty() {
            keys.push(default);
        }
    }
    let options = SealOptions {
        frame_length: args.frame_size,
        threads: args.threads.map_or(SealOptions::default().threads, usize::from),
        ..SealOptions::default()
    };
    if let Some(url) = &object {
        return super::s3::seal(args, global, url, &backends, &keys, context, &options);
    }
    let mut output = Output::create(&output_spec, args.files.force)?;
    if output.is_terminal() {
        return Err(CliError::usage(
            "refusing to write a sealed message to a terminal; use -o FILE or redirect stdout",
        ));
    }
    let mut input = Input::open(&args.files.input)?;
    let keyring = backends.keyring(&keys);
    let sealed =
        stream::seal(&mut input.reader, output.writer(), &keyring, &context, &options).map_err(|e| match e {
            stream::Error::Input(e) => CliError::io(format!("cannot read {}", input.name), &e),
            stream::Error::Output(e) => CliError::io(format!("cannot write {output_spec}"), &e),
            e => CliError::stream(format!("cannot seal {}", input.name), e),
        })?;
    let bytes = sealed.plaintext_bytes;
    output.commit(&output_spec)?;
    if global.json {
        print_json(&json!({
            "input": input.name,
            "output": if output_spec == "-" { "stdout" } else { &output_spec },
            "plaintext_bytes": bytes,
            "keys": keys.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "encryption_context": context,
            "frame_size": args.frame_size,
        }))?;
    }
    Ok(())
}
