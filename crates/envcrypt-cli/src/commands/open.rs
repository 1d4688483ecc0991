use envcrypt::keyring::OpenPolicy;
use envcrypt::message::ParseLimits;
use envcrypt::stream::{self, Decryptor, OpenOptions};
use serde_json::json;

use super::{print_json, pump, PumpError};
use crate::backends::{parse_context, parse_key, Backends};
use crate::cli::{GlobalArgs, OpenArgs};
use crate::error::CliError;
use crate::files::{is_broken_pipe, strip_enc, Input, Output};

pub fn exec(args: &OpenArgs, global: &GlobalArgs) -> Result<(), CliError> {
    let required_context = parse_context(&args.context)?;
    let keys = args.keys.iter().map(|k| parse_key(k)).collect::<Result<Vec<_>, _>>()?;
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
    let options = OpenOptions {
        limits: ParseLimits {
            max_encrypted_data_keys: args.max_encrypted_data_keys,
            max_frame_length: args.max_frame_size,
        },
        required_context,
        unsigned_only: args.unsigned_only,
    };
    let name = input.name;
    let failed = |e| CliError::stream(format!("cannot open {name}"), e);
    let mut decryptor = Decryptor::with_options(input.reader, &policy, &options).map_err(failed)?;
    let key_arn = decryptor.key_arn().to_owned();
    let bytes = match pump(&mut decryptor, output.writer()) {
        Ok(bytes) => bytes,
        Err(PumpError::Write(e)) if output_spec == "-" && is_broken_pipe(&e) => return Ok(()),
        Err(PumpError::Write(e)) => return Err(CliError::io(format!("cannot write {output_spec}"), &e)),
        Err(PumpError::Read(e)) => return Err(failed(stream::Error::Io(e))),
    };
    output.commit()?;
    if global.json {
        print_json(&json!({
            "input": name,
            "output": if output_spec == "-" { "stdout" } else { &output_spec },
            "plaintext_bytes": bytes,
            "key": key_arn,
            "encryption_context": decryptor.header().body().context,
        }))?;
    }
    Ok(())
}
