//! `envcrypt key import-params`, `key import`, `key delete-material`: key material you bring
//! (keys created with `key create --origin external`), as KMS's GetParametersForImport,
//! ImportKeyMaterial and DeleteImportedKeyMaterial.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use envcrypt::kms::{ImportRequest, KeyImport, MaterialExpiry, WrappingAlgorithm, WrappingKeySpec};
use serde_json::json;

use crate::error::CliError;
use crate::files::Output;
use crate::flags::{key_ref, GlobalArgs};
use crate::location::Location;
use crate::print;

/// `key import-params`.
#[derive(Debug, clap::Args)]
pub struct ParamsArgs {
    /// The key (id or ARN), created with --origin external.
    pub key: String,
    /// The RSA wrapping key: RSA_2048, RSA_3072 or RSA_4096.
    #[arg(long, value_name = "SPEC", default_value = "RSA_4096", value_parser = wrapping_key_spec)]
    wrapping_spec: WrappingKeySpec,
    /// How you will wrap the material: RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256,
    /// RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.
    #[arg(long, value_name = "ALGORITHM", default_value = "RSAES_OAEP_SHA_256", value_parser = wrapping_algorithm)]
    wrapping_algorithm: WrappingAlgorithm,
    /// Where to write the wrapping public key (DER SubjectPublicKeyInfo).
    #[arg(long, value_name = "FILE", default_value = "wrapping-key.der")]
    public_key: PathBuf,
    /// Where to write the import token.
    #[arg(long, value_name = "FILE", default_value = "import-token.bin")]
    token: PathBuf,
    /// Replace the files if they exist.
    #[arg(long)]
    force: bool,
}

/// `key import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The key (id or ARN).
    pub key: String,
    /// The key material (32 bytes) wrapped under the wrapping key of `key import-params`.
    #[arg(long, value_name = "FILE")]
    material: PathBuf,
    /// The import token written by the same `key import-params`.
    #[arg(long, value_name = "FILE")]
    token: PathBuf,
    /// When the material expires: an RFC 3339 time or a duration from now (`30d`, `12h`),
    /// at most 365 days away [default: never].
    #[arg(long, value_name = "WHEN", value_parser = valid_to)]
    valid_to: Option<u64>,
}

/// `key delete-material`.
#[derive(Debug, clap::Args)]
pub struct DeleteMaterialArgs {
    /// The key (id or ARN).
    pub key: String,
}

fn kms_name_arg<T>(text: &str, from_name: fn(&str) -> Option<T>, what: &str) -> Result<T, String> {
    from_name(&text.to_ascii_uppercase().replace('-', "_")).ok_or_else(|| format!("not a {what}"))
}

fn wrapping_key_spec(text: &str) -> Result<WrappingKeySpec, String> {
    kms_name_arg(text, WrappingKeySpec::from_name, "wrapping key spec (RSA_2048, RSA_3072, RSA_4096)")
}

fn wrapping_algorithm(text: &str) -> Result<WrappingAlgorithm, String> {
    kms_name_arg(
        text,
        WrappingAlgorithm::from_name,
        "wrapping algorithm (RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1, RSA_AES_KEY_WRAP_SHA_256)",
    )
}

fn valid_to(text: &str) -> Result<u64, String> {
    let when = match humantime::parse_duration(text) {
        Ok(duration) => SystemTime::now().checked_add(duration).ok_or_else(|| format!("{text} is too far away"))?,
        Err(_) => humantime::parse_rfc3339_weak(text)
            .map_err(|_| "not an RFC 3339 time (2027-01-31T00:00:00Z) or a duration (30d)".to_owned())?,
    };
    Ok(when.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

fn write_all(output: &mut Output, path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    output.writer().write_all(bytes).map_err(|e| CliError::io(format!("cannot write {}", path.display()), &e))
}

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| CliError::io(format!("cannot read {what} from {}", path.display()), &e))
}

pub fn params(args: &ParamsArgs, import: &dyn KeyImport, global: &GlobalArgs) -> Result<(), CliError> {
    let key = key_ref(&args.key)?;
    // Both outputs are staged before the call: new parameters replace the key's old ones, so
    // a wrapping key written without its token (or the reverse) would be of no use.
    let mut public_key = Output::create(&Location::File(args.public_key.clone()), args.force)?;
    let mut token = Output::create(&Location::File(args.token.clone()), args.force)?;
    let parameters = import
        .get_parameters_for_import(&key, args.wrapping_algorithm, args.wrapping_spec)
        .wait()
        .map_err(|e| CliError::kms(format!("cannot get import parameters for {}", args.key), &e))?;
    write_all(&mut public_key, &args.public_key, &parameters.public_key)?;
    write_all(&mut token, &args.token, &parameters.import_token)?;
    public_key.commit(&args.public_key.display())?;
    token.commit(&args.token.display())?;
    if global.json {
        return print::json(&json!({
            "KeyId": parameters.key_arn,
            "PublicKeyFile": args.public_key,
            "ImportTokenFile": args.token,
            "WrappingKeySpec": args.wrapping_spec.as_str(),
            "WrappingAlgorithm": args.wrapping_algorithm.as_str(),
            "ParametersValidTo": print::timestamp(parameters.parameters_valid_to),
        }));
    }
    print::lines(&[
        format!("wrapping key:  {} ({}, DER)", args.public_key.display(), args.wrapping_spec),
        format!("import token:  {}", args.token.display()),
        format!("valid until:   {}", print::timestamp(parameters.parameters_valid_to)),
        format!(
            "next: wrap your 32-byte key material with {}, then: envcrypt key import {} --material FILE --token {}",
            args.wrapping_algorithm,
            args.key,
            args.token.display()
        ),
    ])
}

pub fn import(args: &ImportArgs, import: &dyn KeyImport) -> Result<(), CliError> {
    let key = key_ref(&args.key)?;
    let material = read_file(&args.material, "the wrapped key material")?;
    let token = read_file(&args.token, "the import token")?;
    let expiry = args.valid_to.map_or(MaterialExpiry::Never, MaterialExpiry::At);
    let request = ImportRequest { key: &key, encrypted_key_material: &material, import_token: &token, expiry };
    import
        .import_key_material(request)
        .wait()
        .map_err(|e| CliError::kms(format!("cannot import key material into {}", args.key), &e))
}

pub fn delete_material(args: &DeleteMaterialArgs, import: &dyn KeyImport) -> Result<(), CliError> {
    import
        .delete_imported_key_material(&key_ref(&args.key)?)
        .wait()
        .map_err(|e| CliError::kms(format!("cannot delete the key material of {}", args.key), &e))
}
