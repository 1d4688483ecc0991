//! Scheduled rotation on AWS KMS: the [`KeyRotation`] calls, passed through.

use aws_sdk_kms::primitives::DateTime;
use envcrypt::kms::{KeyRef, KeyRotation, KmsFuture, RotationEntry, RotationStatus, RotationType};

use crate::errors::sdk_error;
use crate::AwsKmsService;

fn seconds(date: Option<&DateTime>) -> Option<u64> {
    date.map(|d| u64::try_from(d.secs()).unwrap_or(0))
}

impl KeyRotation for AwsKmsService {
    fn enable_key_rotation<'a>(&'a self, key: &'a KeyRef, period_days: Option<u32>) -> KmsFuture<'a, ()> {
        let period = period_days.map(|days| i32::try_from(days).unwrap_or(i32::MAX));
        self.key_call(key, move |client, key| async move {
            client
                .enable_key_rotation()
                .key_id(&key)
                .set_rotation_period_in_days(period)
                .send()
                .await
                .map_err(|e| sdk_error("EnableKeyRotation", &key, e))?;
            Ok(())
        })
    }

    fn disable_key_rotation<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, ()> {
        self.key_call(key, |client, key| async move {
            client
                .disable_key_rotation()
                .key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("DisableKeyRotation", &key, e))?;
            Ok(())
        })
    }

    fn get_key_rotation_status<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, RotationStatus> {
        self.key_call(key, |client, key| async move {
            let out = client
                .get_key_rotation_status()
                .key_id(&key)
                .send()
                .await
                .map_err(|e| sdk_error("GetKeyRotationStatus", &key, e))?;
            Ok(RotationStatus {
                key_arn: out.key_id().unwrap_or(&key).to_owned(),
                enabled: out.key_rotation_enabled(),
                period_days: out.rotation_period_in_days().and_then(|d| u32::try_from(d).ok()),
                next_rotation_date: seconds(out.next_rotation_date()),
                on_demand_rotation_start_date: seconds(out.on_demand_rotation_start_date()),
            })
        })
    }

    fn list_key_rotations<'a>(&'a self, key: &'a KeyRef) -> KmsFuture<'a, Vec<RotationEntry>> {
        self.key_call(key, |client, key| async move {
            let entries: Vec<_> = client
                .list_key_rotations()
                .key_id(&key)
                .into_paginator()
                .items()
                .send()
                .collect::<Result<_, _>>()
                .await
                .map_err(|e| sdk_error("ListKeyRotations", &key, e))?;
            Ok(entries
                .iter()
                .map(|entry| RotationEntry {
                    key_id: entry.key_id().unwrap_or_default().to_owned(),
                    rotation_date: seconds(entry.rotation_date()).unwrap_or(0),
                    rotation_type: match entry.rotation_type() {
                        Some(aws_sdk_kms::types::RotationType::Automatic) => RotationType::Automatic,
                        _ => RotationType::OnDemand,
                    },
                })
                .collect())
        })
    }
}
