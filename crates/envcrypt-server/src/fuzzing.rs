//! Entry points for the fuzz targets; compiled only under `--cfg fuzzing` (cargo fuzz).

use std::sync::{Arc, OnceLock};

use envcrypt::kms::local::{LocalKeyService, StoreOptions};

use crate::auth::{Received, Verifier};
use crate::decode::Input;
use crate::operations::{self, Context};

struct Fixture {
    store: Arc<LocalKeyService>,
    runtime: tokio::runtime::Runtime,
    _dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    /// A directory removed when the fuzzer exits normally.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("envcrypt-fuzz-serve-{}", std::process::id()));
        let store =
            LocalKeyService::open(StoreOptions::new(&dir).audit_log(false)).expect("a store in a temporary directory");
        // The seeds name the default key, so that requests reach the key operations.
        store.default_key().expect("the default key");
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
        Fixture { store: Arc::new(store), runtime, _dir: tempfile_dir::Dir(dir) }
    })
}

/// Decodes a request as the server does, from bytes laid out as `authorization \n target \n
/// body`: the `Authorization` header, the operation, and the body run against a real store.
pub fn decode_request(data: &[u8]) {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let authorization = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let target = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();

    let headers = vec![
        ("authorization".to_owned(), authorization),
        ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
        ("host".to_owned(), "localhost".to_owned()),
    ];
    let received = Received { method: "POST", path_and_query: "/", headers: &headers, body };
    let verifier = Verifier::new("us-east-1", "kms");
    let _ = verifier.verify(&received, std::time::SystemTime::now(), |_| Ok(None));

    let Ok(operation) = operations::from_target(Some(&target)) else { return };
    let Ok(input) = Input::parse(body) else { return };
    let fixture = fixture();
    let cx = Context { service: fixture.store.as_ref(), identity: fixture.store.identity() };
    let _ = fixture.runtime.block_on(operations::run(operation, &input, &cx));
}
