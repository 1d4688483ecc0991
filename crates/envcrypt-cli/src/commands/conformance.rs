//! `envcrypt conformance`: the KMS scenarios of `envcrypt-conformance` on the chosen backends,
//! side by side with documented AWS KMS behaviour.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use envcrypt::kms::local::{LocalKeyService, StoreOptions};
use envcrypt::kms::{KeyService, KmsError};
use envcrypt_aws::{AwsKmsService, AwsOptions};
use envcrypt_conformance::{
    self as conformance, Backend, Column, Deviations, Report, StandInPrincipals, Verdict, MOTO_ACCOUNT,
    MOTO_DEVIATIONS, SCENARIOS,
};

use crate::backends::{aws_options, Backends};
use crate::error::{CliError, Exit};
use crate::flags::{BackendKind, GlobalArgs};
use crate::print;

/// Run the KMS conformance scenarios on one or more backends and report every difference.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  envcrypt conformance                                   # the local store
  envcrypt conformance --backend local --backend aws --endpoint-url http://127.0.0.1:5000
  envcrypt conformance --backend aws --json              # real AWS KMS (creates keys, then
                                                         # schedules their deletion)

  envcrypt conformance --backend aws --endpoint-url http://127.0.0.1:4599 --served-store ./kms

Each scenario's outcome is compared with documented AWS KMS behaviour. With --endpoint-url
(a stand-in such as moto), that endpoint's known deviations are marked `~` instead of failing.
With --served-store, the endpoint is `envcrypt serve` of that store: the harness and each
principal it acts as get access keys there (revoked after the run), and no deviation is
expected. The local store runs in a throwaway directory unless --store is given.")]
pub struct Args {
    /// Treat every difference of a stand-in endpoint as a failure, known or not.
    #[arg(long)]
    pub no_known_deviations: bool,
    /// The --endpoint-url is `envcrypt serve` of the store in DIR.
    #[arg(long, value_name = "DIR")]
    pub served_store: Option<PathBuf>,
}

pub fn exec(args: &Args, global: &GlobalArgs) -> Result<(), CliError> {
    let kinds = if global.backend.is_empty() { vec![BackendKind::Local] } else { global.backend.clone() };
    let stand_in = global.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let mut columns = Vec::new();
    for kind in kinds {
        let column = match kind {
            BackendKind::Local => local_column(global)?,
            BackendKind::Aws => match &args.served_store {
                Some(dir) => served_column(global, dir)?,
                None => aws_column(global, if stand_in && !args.no_known_deviations { MOTO_DEVIATIONS } else { &[] })?,
            },
            BackendKind::Pkcs11 => pkcs11_column(global)?,
        };
        columns.push(column);
    }
    let report = Report::new(&columns);
    let differences = report.differences().count();
    if global.json {
        print::json(&serde_json::to_value(&report).expect("the report serializes"))?;
    } else {
        print::lines(&table(&report))?;
    }
    if differences > 0 {
        return Err(CliError::new(
            Exit::Conformance,
            format!("{differences} scenario(s) differ from documented AWS KMS behaviour without a known reason"),
        ));
    }
    Ok(())
}

/// The local store, in a throwaway directory unless --store names one: the scenarios create
/// dozens of keys.
fn local_column(global: &GlobalArgs) -> Result<Column, CliError> {
    let temp = tempfile::tempdir().map_err(|e| CliError::io("cannot create a temporary key store", &e))?;
    let dir = global.store.clone().unwrap_or_else(|| temp.path().join("store"));
    let store =
        LocalKeyService::open(StoreOptions::new(&dir)).map_err(|e| CliError::kms("cannot open the key store", &e))?;
    let outcomes = conformance::run(&Backend::new("local", &store, &store).with_principals(&store));
    Ok(Column { backend: "local".into(), deviations: &[], outcomes })
}

fn aws_column(global: &GlobalArgs, deviations: Deviations) -> Result<Column, CliError> {
    let options = aws_options(global);
    let kms = AwsKmsService::connect(&options).map_err(|e: KmsError| CliError::kms("cannot reach AWS KMS", &e))?;
    let backend = Backend::new("aws", &kms, &kms);
    // Other principals exist only on a stand-in, each a client with an access key of its own;
    // on real AWS those scenarios are reported as not run.
    let principals = options.endpoint_url.is_some().then(|| {
        let options = options.clone();
        StandInPrincipals::new(MOTO_ACCOUNT, "user/envcrypt-conformance-admin", move |name| {
            let access_key = format!("envcrypt-{}", name.replace('/', "-"));
            let options = AwsOptions { static_credentials: Some((access_key, "stand-in".into())), ..options.clone() };
            Ok(Box::new(AwsKmsService::connect(&options)?) as Box<dyn KeyService>)
        })
    });
    let outcomes = conformance::run(&match &principals {
        Some(principals) => backend.with_principals(principals),
        None => backend,
    });
    Ok(Column { backend: "aws".into(), deviations, outcomes })
}

/// An `envcrypt serve` of the store in `dir`, reached as AWS KMS: the harness and each other
/// principal sign with an access key made for it in that store, as an operator would make
/// them, and revoked once the run is over.
fn served_column(global: &GlobalArgs, dir: &Path) -> Result<Column, CliError> {
    if global.endpoint_url.is_none() {
        return Err(CliError::usage("--served-store needs --endpoint-url, the URL the store is served at"));
    }
    let store = LocalKeyService::open(StoreOptions::new(dir))
        .map_err(|e| CliError::kms(format!("cannot open the served store {}", dir.display()), &e))?;
    let identity = store.identity().clone();
    let served = Arc::new(ServedCredentials { store, created: Mutex::new(Vec::new()) });
    let options = aws_options(global);
    let caller = "user/envcrypt-conformance-admin";
    let kms = served.connect(&options, caller).map_err(|e| CliError::kms("cannot reach the served store", &e))?;
    let principals = StandInPrincipals::new(identity.account.clone(), caller, {
        let served = served.clone();
        move |name| served.connect(&options, name).map(|kms| kms as Box<dyn KeyService>)
    })
    .in_partition(identity.partition.clone());
    let outcomes = conformance::run(&Backend::new("serve", kms.as_ref(), kms.as_ref()).with_principals(&principals));
    served.revoke_all().map_err(|e| CliError::kms("cannot revoke the access keys made for the run", &e))?;
    Ok(Column { backend: "serve".into(), deviations: &[], outcomes })
}

/// Access keys made in a served store for one conformance run.
struct ServedCredentials {
    store: LocalKeyService,
    created: Mutex<Vec<String>>,
}

impl ServedCredentials {
    /// A client of the endpoint signing as `principal` with an access key made for it now.
    fn connect(&self, options: &AwsOptions, principal: &str) -> Result<Box<AwsKmsService>, KmsError> {
        let key = self.store.create_access_key(principal)?;
        self.created.lock().unwrap_or_else(PoisonError::into_inner).push(key.key.access_key_id.clone());
        let credentials = (key.key.access_key_id.clone(), key.secret_access_key.as_str().to_owned());
        Ok(Box::new(AwsKmsService::connect(&AwsOptions { static_credentials: Some(credentials), ..options.clone() })?))
    }

    fn revoke_all(&self) -> Result<(), KmsError> {
        for id in self.created.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            self.store.revoke_access_key(&id)?;
        }
        Ok(())
    }
}

/// The HSM cluster, as configured; its keys are scheduled for deletion at the end.
fn pkcs11_column(global: &GlobalArgs) -> Result<Column, CliError> {
    let backends = Backends::new(global)?;
    let hsm = backends.pkcs11()?;
    let outcomes = conformance::run(&Backend::new("pkcs11", hsm.as_ref(), hsm.as_ref()));
    Ok(Column { backend: "pkcs11".into(), deviations: &[], outcomes })
}

fn table(report: &Report) -> Vec<String> {
    let width = SCENARIOS.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let widest = report
        .rows
        .iter()
        .flat_map(|r| {
            std::iter::once(r.documented.to_string().len())
                .chain(r.results.iter().map(|(o, _)| o.to_string().len() + 2))
        })
        .max()
        .unwrap_or(0);
    let cell = widest.max(28) + 2;
    let mut header = format!("{:<width$}  {:<cell$}", "scenario", "documented AWS KMS");
    for backend in &report.backends {
        header.push_str(&format!("  {backend:<cell$}"));
    }
    let mut lines = vec![header.trim_end().to_owned()];
    for row in &report.rows {
        let mut line = format!("{:<width$}  {:<cell$}", row.scenario, row.documented.to_string());
        for (outcome, verdict) in &row.results {
            let mark = match verdict {
                Verdict::AsDocumented => "=",
                Verdict::KnownDeviation => "~",
                Verdict::Difference => "!",
                Verdict::NotRun => "-",
            };
            line.push_str(&format!("  {mark} {:<w$}", outcome.to_string(), w = cell - 2));
        }
        lines.push(line.trim_end().to_owned());
    }
    lines.push(String::new());
    lines.push("= as documented   ~ known deviation of that endpoint   ! unexplained difference   - not run".into());
    for (i, backend) in report.backends.iter().enumerate() {
        let count = |v: Verdict| report.rows.iter().filter(|r| r.results[i].1 == v).count();
        lines.push(format!(
            "{backend}: {} scenarios, {} as documented, {} known deviations, {} differences, {} not run",
            report.rows.len(),
            count(Verdict::AsDocumented),
            count(Verdict::KnownDeviation),
            count(Verdict::Difference),
            count(Verdict::NotRun)
        ));
    }
    lines
}
