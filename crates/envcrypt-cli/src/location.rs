//! Where a command reads and writes, parsed once: stdin/stdout (`-`), a file, or an S3 object
//! (`s3://BUCKET/KEY`). Each command takes its inputs and outputs as [`Location`]s and has one
//! path through it; only the step that moves the bytes differs between a file and an object.

use std::fmt;
use std::path::{Path, PathBuf};

use envcrypt_s3::ObjectUrl;

use crate::error::CliError;

const STDIO: &str = "-";
const SEALED_SUFFIX: &str = ".enc";

/// An input or output named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `-`: stdin or stdout.
    Stdio,
    /// A local file.
    File(PathBuf),
    /// An S3 object.
    S3(ObjectUrl),
}

impl Location {
    pub fn parse(spec: &str) -> Result<Self, CliError> {
        if spec == STDIO {
            Ok(Self::Stdio)
        } else if ObjectUrl::is_s3(spec) {
            ObjectUrl::parse(spec).map(Self::S3).map_err(|e| CliError::usage(e.to_string()))
        } else {
            Ok(Self::File(PathBuf::from(spec)))
        }
    }

    /// Where `seal` writes this input without `-o`: `INPUT.enc`, or stdout for stdin.
    pub fn sealed_name(&self) -> Result<Self, CliError> {
        match self {
            Self::Stdio => Ok(Self::Stdio),
            Self::File(path) => {
                let mut name = path.clone().into_os_string();
                name.push(SEALED_SUFFIX);
                Ok(Self::File(name.into()))
            }
            Self::S3(url) => Err(CliError::usage(format!(
                "{url}: S3 objects are sealed from a local input: give a file or - as the input and -o {url}"
            ))),
        }
    }

    /// Where `open` writes this input without `-o`: the name without `.enc` (an object's last
    /// path segment, in the current directory), or stdout for stdin.
    pub fn opened_name(&self) -> Result<Self, CliError> {
        let stripped = match self {
            Self::Stdio => return Ok(Self::Stdio),
            Self::File(path) => strip_sealed_suffix(path),
            Self::S3(url) => url.key.rsplit('/').next().and_then(|name| strip_sealed_suffix(Path::new(name))),
        };
        stripped.map(Self::File).ok_or_else(|| {
            CliError::usage(format!("{self} does not end in .enc, so the output needs a name: use -o OUT or -o -"))
        })
    }
}

/// Each input named on the command line with its output: `-o` for a single input, else the
/// name `derive` gives it (`-o` with several inputs is refused: `what` says what to do
/// instead). Stdin may be one input at most.
pub fn inputs_and_outputs(
    inputs: &[String],
    output: Option<&str>,
    derive: fn(&Location) -> Result<Location, CliError>,
    what: &str,
) -> Result<Vec<(Location, Location)>, CliError> {
    let inputs = inputs.iter().map(|i| Location::parse(i)).collect::<Result<Vec<_>, _>>()?;
    if inputs.iter().filter(|i| **i == Location::Stdio).count() > 1 {
        return Err(CliError::usage("stdin (-) can be an input only once"));
    }
    match (output, &inputs[..]) {
        (Some(output), [input]) => Ok(vec![(input.clone(), Location::parse(output)?)]),
        (Some(_), _) => Err(CliError::usage(format!("-o names one output: give one input, or leave -o out to {what}"))),
        (None, _) => inputs
            .into_iter()
            .map(|input| {
                let output = derive(&input)?;
                Ok((input, output))
            })
            .collect(),
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Stdio => f.write_str(STDIO),
            Self::File(path) => write!(f, "{}", path.display()),
            Self::S3(url) => write!(f, "{url}"),
        }
    }
}

fn strip_sealed_suffix(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(SEALED_SUFFIX).filter(|s| !s.is_empty())?;
    Some(path.with_file_name(stem))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_named_after_inputs() {
        let file = Location::parse("dir/notes.txt").unwrap();
        assert_eq!(file.sealed_name().unwrap(), Location::File("dir/notes.txt.enc".into()));
        let sealed = Location::parse("dir/notes.txt.enc").unwrap();
        assert_eq!(sealed.opened_name().unwrap(), Location::File("dir/notes.txt".into()));
        let object = Location::parse("s3://bucket/a/b/db.dump.enc").unwrap();
        assert_eq!(object.opened_name().unwrap(), Location::File("db.dump".into()));
        assert!(object.sealed_name().is_err());
        assert!(Location::parse("plain").unwrap().opened_name().is_err());
        assert!(Location::parse(".enc").unwrap().opened_name().is_err());
        assert_eq!(Location::parse("-").unwrap().opened_name().unwrap(), Location::Stdio);
    }
}
