//! Running a command over several inputs (`envcrypt seal *.log`): the inputs are shared out
//! to workers on every core, a failure names its input and the others still complete, and the
//! command's exit status says that some failed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::Value;

use crate::error::CliError;
use crate::{print, terminal};

/// How a thread budget is split: `workers` inputs at once, each with `threads_each` threads
/// for its frames (many small files use every core one file each; one large file uses every
/// core for its frames).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    pub workers: usize,
    pub threads_each: usize,
}

impl Split {
    pub fn new(inputs: usize, threads: usize) -> Self {
        let workers = inputs.clamp(1, threads.max(1));
        Self { workers, threads_each: (threads / workers).max(1) }
    }
}

/// Runs `job` on every input (with the threads each may use), `split.workers` at a time, and
/// returns the results in input order. With several inputs, each failure is reported on
/// stderr as it happens.
pub fn run<I: Sync, T: Send>(
    inputs: &[I],
    split: Split,
    job: impl Fn(&I, usize) -> Result<T, CliError> + Sync,
) -> Vec<Result<T, CliError>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<T, CliError>>>> = Mutex::new((0..inputs.len()).map(|_| None).collect());
    let work = || loop {
        let index = next.fetch_add(1, Ordering::Relaxed);
        let Some(input) = inputs.get(index) else { break };
        let result = job(input, split.threads_each);
        if let (Err(error), true) = (&result, inputs.len() > 1) {
            eprintln!("envcrypt: {}", terminal::escape(&error.message));
        }
        results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[index] = Some(result);
    };
    std::thread::scope(|scope| {
        for _ in 1..split.workers {
            // A thread the system refuses is one worker fewer: the others take its inputs.
            if std::thread::Builder::new().spawn_scoped(scope, work).is_err() {
                break;
            }
        }
        work();
    });
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .map(|r| r.expect("every input was run"))
        .collect()
}

/// Runs `job` on every input with all of `threads`, prints the reports with `--json` (an
/// object for a single input, an array for several), and ends as [`outcome`] says. A job
/// that has nothing to report (its stdout was closed) answers `None`.
pub fn run_and_report<I: Sync>(
    inputs: &[I],
    threads: usize,
    verb: &str,
    json: bool,
    job: impl Fn(&I, usize) -> Result<Option<Value>, CliError> + Sync,
) -> Result<(), CliError> {
    // Without --json a report is dropped as soon as its input is done, so that memory does
    // not grow with the number of inputs.
    let results = run(inputs, Split::new(inputs.len(), threads), |input, threads| {
        job(input, threads).map(|report| report.filter(|_| json))
    });
    let (reports, error) = outcome(results, verb);
    let reports: Vec<Value> = reports.into_iter().flatten().collect();
    if json && !reports.is_empty() {
        match &reports[..] {
            [one] if inputs.len() == 1 => print::json(one)?,
            many => print::json(&many)?,
        }
    }
    error.map_or(Ok(()), Err)
}

/// The successes, or the error to end the command with: the failure itself for one input,
/// else a summary with the first failure's exit status (each was reported already).
pub fn outcome<T>(results: Vec<Result<T, CliError>>, verb: &str) -> (Vec<T>, Option<CliError>) {
    let total = results.len();
    let mut done = Vec::new();
    let mut first_error = None;
    let mut failed = 0;
    for result in results {
        match result {
            Ok(value) => done.push(value),
            Err(error) => {
                failed += 1;
                first_error.get_or_insert(error);
            }
        }
    }
    let error = first_error.map(|error| {
        if total == 1 {
            error
        } else {
            CliError::new(error.exit, format!("{failed} of {total} inputs could not be {verb}"))
        }
    });
    (done, error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;

    #[test]
    fn threads_go_to_inputs_first_then_to_frames() {
        assert_eq!(Split::new(100, 8), Split { workers: 8, threads_each: 1 });
        assert_eq!(Split::new(1, 8), Split { workers: 1, threads_each: 8 });
        assert_eq!(Split::new(3, 8), Split { workers: 3, threads_each: 2 });
        assert_eq!(Split::new(0, 8), Split { workers: 1, threads_each: 8 });
    }

    #[test]
    fn every_input_runs_in_order_and_failures_are_counted() {
        let inputs: Vec<u32> = (0..50).collect();
        let results = run(&inputs, Split::new(inputs.len(), 4), |&n, _| {
            if n % 10 == 3 {
                Err(CliError::new(Exit::Data, format!("{n} failed")))
            } else {
                Ok(n * 2)
            }
        });
        let (done, error) = outcome(results, "doubled");
        assert_eq!(done.len(), 45);
        assert!(done.windows(2).all(|w| w[0] < w[1]), "results keep input order");
        let error = error.unwrap();
        assert_eq!((error.exit, error.message.as_str()), (Exit::Data, "5 of 50 inputs could not be doubled"));
    }
}
