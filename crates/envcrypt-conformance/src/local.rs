//! The local store's other principals: whoever it is told ([`LocalKeyService::as_principal`]).

use envcrypt::kms::local::{LocalKeyService, Principal};
use envcrypt::kms::{KeyService, KmsError};

use crate::backend::Principals;

impl Principals for LocalKeyService {
    fn arn(&self, name: &str) -> String {
        Principal::parse(name, self.principal().partition(), self.principal().account())
            .map_or_else(|_| name.to_owned(), |p| p.arn().to_owned())
    }

    fn caller_arn(&self) -> String {
        self.principal().arn().to_owned()
    }

    fn service(&self, name: &str) -> Result<Box<dyn KeyService>, KmsError> {
        Ok(Box::new(self.as_principal(name)?))
    }
}
