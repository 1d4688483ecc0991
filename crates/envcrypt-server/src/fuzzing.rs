//! Entry points for the fuzz targets; compiled only under `--cfg fuzzing` (cargo fuzz).

use std::sync::{Arc, OnceLock};

use envcrypt::kms::local::{LocalKeyService, SigningSecret, StoreOptions};
use zeroize::Zeroizing;

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

/// The `X-Amz-Date` the fuzzed requests carry, 2015-08-30T12:36:00Z, in seconds.
const SENT_AT: u64 = 1_440_938_160;

/// Decodes a request as the server does, from bytes laid out as `flags ‖ authorization \n
/// target \n body`: the flags byte says which of `Host` (bit 0) and `X-Amz-Date` (bit 1) are
/// sent; then the `Authorization` header, the operation, and the body run against a real store.
pub fn decode_request(data: &[u8]) {
    let Some((&flags, data)) = data.split_first() else { return };
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let authorization = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let target = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();

    let mut headers = vec![("authorization".to_owned(), authorization)];
    if flags & 1 != 0 {
        headers.push(("host".to_owned(), "localhost".to_owned()));
    }
    if flags & 2 != 0 {
        headers.push(("x-amz-date".to_owned(), "20150830T123600Z".to_owned()));
    }
    let received = Received { method: "POST", path_and_query: "/", headers: &headers, body };
    // Every access key id is known and the clock is the date sent, so that inputs reach the
    // signature computation itself.
    let verifier = Verifier::new("us-east-1", "kms");
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(SENT_AT);
    let secret = || SigningSecret {
        principal: "arn:aws:iam::111122223333:user/fuzz".into(),
        secret_access_key: Arc::new(Zeroizing::new("fuzz-secret".into())),
    };
    let _ = verifier.verify(&received, at, |_| Ok(Some(secret())));

    let Ok(operation) = operations::from_target(Some(&target)) else { return };
    let Ok(input) = Input::parse(body) else { return };
    let fixture = fixture();
    let cx = Context { service: fixture.store.as_ref(), identity: fixture.store.identity() };
    let _ = fixture.runtime.block_on(operations::run(operation, &input, &cx));
}
