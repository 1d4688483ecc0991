//! Imported key material on AWS KMS: the [`KeyImport`] calls, passed through.

use aws_sdk_kms::primitives::{Blob, DateTime};
use aws_sdk_kms::types::{AlgorithmSpec, ExpirationModelType, WrappingKeySpec as AwsWrappingKeySpec};
use envcrypt::kms::{
    ImportParameters, ImportRequest, KeyImport, KeyRef, KmsFuture, MaterialExpiry, WrappingAlgorithm, WrappingKeySpec,
};

use crate::errors::{missing, sdk_error};
use crate::AwsKmsService;

impl KeyImport for AwsKmsService {
    fn get_parameters_for_import<'a>(
        &'a self,
        key: &'a KeyRef,
        algorithm: WrappingAlgorithm,
        spec: WrappingKeySpec,
    ) -> KmsFuture<'a, ImportParameters> {
        self.key_call(key, move |client, key| async move {
            let out = client
                .get_parameters_for_import()
                .key_id(&key)
                .wrapping_algorithm(AlgorithmSpec::from(algorithm.as_str()))
                .wrapping_key_spec(AwsWrappingKeySpec::from(spec.as_str()))
                .send()
                .await
                .map_err(|e| sdk_error("GetParametersForImport", &key, e))?;
            let missing_member = |member| missing("GetParametersForImport", member);
            Ok(ImportParameters {
                key_arn: out.key_id().unwrap_or(&key).to_owned(),
                public_key: out.public_key().ok_or_else(|| missing_member("PublicKey"))?.as_ref().to_vec(),
                import_token: out.import_token().ok_or_else(|| missing_member("ImportToken"))?.as_ref().to_vec(),
                parameters_valid_to: out.parameters_valid_to().map_or(0, |d| u64::try_from(d.secs()).unwrap_or(0)),
            })
        })
    }

    fn import_key_material<'a>(&'a self, request: ImportRequest<'a>) -> KmsFuture<'a, ()> {
        let material = Blob::new(request.encrypted_key_material);
        let token = Blob::new(request.import_token);
        let (model, valid_to) = match request.expiry {
            MaterialExpiry::At(date) => (
                ExpirationModelType::KeyMaterialExpires,
                Some(DateTime::from_secs(i64::try_from(date).unwrap_or(i64::MAX))),
            ),
            MaterialExpiry::Never => (ExpirationModelType::KeyMaterialDoesNotExpire, None),
        };
        self.key_call(request.key, move |client, key| async move {
            client
                .import_key_material()
                .key_id(&key)
                .encrypted_key_material(material)
                .import_token(token)
                .expiration_model(model)
                .set_valid_to(valid_to)
                .send()
                .await
                .map_err(|e| sdk_error("ImportKeyMaterial", &key, e))?;
            Ok(())
        })
    }

    fn delete_imported_key_material<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        self.key_call(key, |client, key| async move {
            client
                .delete_imported_key_material()
                .key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteImportedKeyMaterial", &key, e))?;
            Ok(())
        })
    }
}
