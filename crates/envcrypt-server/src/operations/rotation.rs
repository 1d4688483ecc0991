//! EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, ListKeyRotations.

use serde_json::{json, Value};

use super::context::{kms, Context};
use super::members::{key_id_or_arn, timestamp};
use super::paging::{page, paged};
use crate::decode::Input;
use crate::protocol::{self, Failure, Reply};

pub(super) async fn enable_key_rotation(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let period = input.integer("RotationPeriodInDays", 90, 2560)?.map(|days| u32::try_from(days).unwrap_or(365));
    cx.rotation("EnableKeyRotation")?.enable_key_rotation(&key, period).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn disable_key_rotation(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    cx.rotation("DisableKeyRotation")?.disable_key_rotation(&key).await.map_err(kms)?;
    Ok(protocol::empty())
}

pub(super) async fn get_key_rotation_status(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let status = cx.rotation("GetKeyRotationStatus")?.get_key_rotation_status(&key).await.map_err(kms)?;
    let mut body = json!({ "KeyId": status.key_arn, "KeyRotationEnabled": status.enabled });
    if let Some(days) = status.period_days {
        body["RotationPeriodInDays"] = json!(days);
    }
    if let Some(date) = status.next_rotation_date {
        body["NextRotationDate"] = timestamp(date);
    }
    if let Some(date) = status.on_demand_rotation_start_date {
        body["OnDemandRotationStartDate"] = timestamp(date);
    }
    Ok(Reply::Json(body))
}

pub(super) async fn list_key_rotations(input: &Input, cx: &Context<'_>) -> Result<Reply, Failure> {
    let key = key_id_or_arn(input, "KeyId")?;
    let rotations = cx.rotation("ListKeyRotations")?.list_key_rotations(&key).await.map_err(kms)?;
    let (rotations, next) = page(input, rotations, 100, 1000)?;
    let entries: Vec<Value> = rotations
        .iter()
        .map(|r| {
            json!({
                "KeyId": r.key_id,
                "RotationDate": timestamp(r.rotation_date),
                "RotationType": r.rotation_type.as_str(),
            })
        })
        .collect();
    Ok(Reply::Json(paged(json!({ "Rotations": entries }), next)))
}
