//! The two ONNX models, checked by SHA-256 and prepared for tract.

use std::path::Path;
use std::sync::Arc;

use prost::Message;
use ring::digest;
use tract_onnx::prelude::*;

use super::onnx_fold;
use crate::error::{Error, Result};

/// A model file the engine accepts: its identity and the only bytes it will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    /// Short stable id, recorded in templates and receipts.
    pub id: &'static str,
    /// File name under `models/`.
    pub file: &'static str,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: &'static str,
}

/// YuNet 2023mar face detector, int8 block-quantized (OpenCV Model Zoo).
pub const YUNET: ModelSpec = ModelSpec {
    id: "yunet_2023mar_int8bq",
    file: "face_detection_yunet_2023mar_int8bq.onnx",
    sha256: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
};

/// SFace 2021dec face recognizer, int8 block-quantized (OpenCV Model Zoo).
pub const SFACE: ModelSpec = ModelSpec {
    id: "sface_2021dec_int8bq",
    file: "face_recognition_sface_2021dec_int8bq.onnx",
    sha256: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
};

/// MiniFASNetV2 passive live-person model, crop scale 2.7, 80x80 BGR input (Silent-Face-Anti-Spoofing).
pub const MINIFASNET_V2: ModelSpec = ModelSpec {
    id: "minifasnet_v2_2.7_80x80",
    file: "2.7_80x80_MiniFASNetV2.onnx",
    sha256: "4433e871ef03f6c4c13de1757e63dcd69db14b6d7d9cff2319cb274c0f6dbecb",
};

/// MiniFASNetV1SE passive live-person model, crop scale 4.0, 80x80 BGR input (Silent-Face-Anti-Spoofing).
pub const MINIFASNET_V1SE: ModelSpec = ModelSpec {
    id: "minifasnet_v1se_4.0_80x80",
    file: "4_0_0_80x80_MiniFASNetV1SE.onnx",
    sha256: "a8e67ffbaf39fa74c3b2ed673b530fcfb2f47379d0f26a52b71c2fc6473ec20f",
};

/// The model bytes compiled into this library.
#[cfg(feature = "bundled-models")]
pub fn bundled() -> (&'static [u8], &'static [u8]) {
    (
        include_bytes!("../../../models/face_detection_yunet_2023mar_int8bq.onnx"),
        include_bytes!("../../../models/face_recognition_sface_2021dec_int8bq.onnx"),
    )
}

/// The two live-person model files compiled into this library: (MiniFASNetV2, MiniFASNetV1SE).
#[cfg(feature = "bundled-models")]
pub fn bundled_liveness() -> (&'static [u8], &'static [u8]) {
    (
        include_bytes!("../../../models/2.7_80x80_MiniFASNetV2.onnx"),
        include_bytes!("../../../models/4_0_0_80x80_MiniFASNetV1SE.onnx"),
    )
}

pub(crate) type Plan = Arc<TypedRunnableModel>;

/// Hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    digest::digest(&digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a model file from `dir`, with an error that names the file when it is missing.
pub(crate) fn read(dir: &Path, spec: &ModelSpec) -> Result<Vec<u8>> {
    let path = dir.join(spec.file);
    std::fs::read(&path).map_err(|e| Error::Model {
        model: spec.id.into(),
        detail: format!("cannot read {}: {e}; pass the folder that holds the models", path.display()),
    })
}

/// Checks the hash, folds the quantized weights and optimizes the model for one input shape.
pub(crate) fn load(spec: &ModelSpec, bytes: &[u8], input_shape: &[usize]) -> Result<Plan> {
    let actual = sha256_hex(bytes);
    if actual != spec.sha256 {
        return Err(Error::ModelHash { model: spec.id.into(), expected: spec.sha256.into(), actual });
    }
    let tract_err = |e: TractError| Error::Model { model: spec.id.into(), detail: format!("{e:#}") };
    let mut proto = tract_onnx::pb::ModelProto::decode(bytes)
        .map_err(|e| Error::Model { model: spec.id.into(), detail: e.to_string() })?;
    let graph =
        proto.graph.as_mut().ok_or_else(|| Error::Model { model: spec.id.into(), detail: "no graph".into() })?;
    onnx_fold::prepare_graph(graph, spec.id)?;
    // The files carry value_info computed for their export size; we set our own input size.
    let model = tract_onnx::onnx().with_ignore_value_info(true).model_for_proto_model(&proto).map_err(tract_err)?;
    // The folded protobuf is as large as the float weights: free it before tract optimizes (peak memory).
    drop(proto);
    let model = model
        .with_input_fact(0, f32::fact(input_shape).into())
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable())
        .map_err(tract_err)?;
    Ok(model)
}

/// Runs `plan` on one f32 input and returns its outputs.
pub(crate) fn run(plan: &Plan, spec: &ModelSpec, input: Tensor) -> Result<TVec<TValue>> {
    plan.run(tvec!(input.into())).map_err(|e| Error::Model { model: spec.id.into(), detail: format!("{e:#}") })
}
