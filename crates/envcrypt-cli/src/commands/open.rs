use envcrypt::keyring::OpenPolicy;
use envcrypt::kms::EncryptionContext;
use envcrypt::message::ParseLimits;
use envcrypt::stream::{self, OpenOptions};
use envcrypt_s3::ObjectUrl;
use serde_json::json;

use super::print_json;
use crate::backends::{parse_context, parse_key, Backends};
use crate::cli::{GlobalArgs, OpenArgs};
use crate::error::CliError;
use crate::files::{is_broken_pipe, strip_enc, Input, Output};

pub fn exec(args: &OpenArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let required_context = parse_context(&args.context)?;
    let keys = args.keys.iter().map(|k| parse_key(k)).collect::<Result<Vec<_>, _>>()?;
    if ObjectUrl::is_s3(&args.files.input) {
        let url = super::s3::object_url(&args.files.input)?;
        let services = Backends::new(global)?.all();
        let policy = if keys.is_empty() { OpenPolicy::discovery(services) } else { OpenPolicy::strict(services, keys) };
        return super::s3::open(args, global, &url, &policy, open_options(args, required_context));
    }
    let output_spec = match (&args.files.output, args.files.input.as_str()) {
        (Some(out), _) => out.clone(),
        (None, "-") => "-".to_owned(),
        (None, input) => strip_enc(input.as_ref()).map(|p| p.display().to_string()).ok_or_else(|| {
            CliError::usage(format!("{input} does not end in .enc, so the output needs a name: use -o OUT"))
        })?,
    };
    let mut output = Output::create(&output_spec, args.files.force)?;
    let input = Input::open(&args.files.input)?;
    let services = Backends::new(global)?.all();
    let policy = if keys.is_empty() { OpenPolicy::discovery(services) } else { OpenPolicy::strict(services, keys) };
    let options = open_options(args, required_context);
    let name = input.name;
    let opened = match stream::open(input.reader, output.writer(), &policy, &options) {
        Ok(opened) => opened,
        Err(stream::Error::Output(e)) if output_spec == "-" && is_broken_pipe(&e) => return Ok(()),
        Err(stream::Error::Output(e)) => return Err(CliError::io(format!("cannot write {output_spec}"), &e)),
        Err(stream::Error::Input(e)) => return Err(CliError::io(format!("cannot read {name}"), &e)),
        Err(e) => return Err(CliError::stream(format!("cannot open {name}"), e)),
    };
    output.commit(&output_spec)?;
    if global.json {
        print_json(&json!({
            "input": name,
            "output": if output_spec == "-" { "stdout" } else { &output_spec },
            "plaintext_bytes": opened.plaintext_bytes,
            "key": opened.key_arn,
            "encryption_context": opened.header.body().context,
        }))?;
    }
    Ok(())
}

fn open_options(args: &OpenArgs, required_context: EncryptionContext) -> OpenOptions {
    OpenOptions {
        limits: ParseLimits {
            max_encrypted_data_keys: args.max_encrypted_data_keys,
            max_frame_length: args.max_frame_size,
        },
        required_context,
        unsigned_only: args.unsigned_only,
        threads: args.threads.map_or(OpenOptions::default().threads, usize::from),
    }
}
