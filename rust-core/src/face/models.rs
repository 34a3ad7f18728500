//! The two ONNX models, checked by SHA-256 and prepared for tract.

use std::path::Path;
use std::sync::{Arc, Mutex};

use prost::Message;
use ring::digest;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::runtime::RunOptions;
use tract_onnx::tract_core::tract_linalg::multithread::Executor;

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

pub use super::onnx_fold::{PreluForm, Rewrites};

/// Most intra-op threads a model may use (phones have 4 to 8 cores; more only adds contention).
pub const MAX_THREADS: usize = 8;

/// How a model runs: its intra-op threads and the load-time speed rewrites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSettings {
    /// Threads for one inference: 1 runs on the caller's thread (no pool at all).
    pub threads: usize,
    /// Graph rewrites applied at load.
    pub rewrites: Rewrites,
    /// Runs in half precision (tract's `f32_to_f16`), depthwise convolutions excluded: only for
    /// phones whose cores compute in f16 (arm64 with FP16); x86 emulates it slowly.
    pub f16: bool,
}

impl Default for RunSettings {
    fn default() -> Self {
        Self { threads: 1, rewrites: Rewrites::FAST, f16: false }
    }
}

/// Translates `model` to half precision, keeping the depthwise convolutions (one filter per
/// channel) in f32, where f16 rounding costs the most accuracy for the least time.
fn to_f16(mut model: TypedModel) -> TractResult<TypedModel> {
    use tract_onnx::tract_core::floats::FloatPrecisionTranslator;
    use tract_onnx::tract_core::ops::cnn::Conv;
    use tract_onnx::tract_core::transform::ModelTransform;
    let depthwise: std::collections::HashSet<String> = model
        .nodes()
        .iter()
        .filter(|n| n.op_as::<Conv>().is_some_and(|c| c.group > 1 && c.group == c.input_channels()))
        .map(|n| n.name.clone())
        .collect();
    FloatPrecisionTranslator::with_filter(f32::datum_type(), f16::datum_type(), move |n| !depthwise.contains(&n.name))
        .transform(&mut model)?;
    Ok(model)
}

/// The shared pool for `threads` (one per count, so the four models do not each start their own).
fn executor(threads: usize) -> Result<Option<Executor>> {
    static POOLS: Mutex<Vec<(usize, Executor)>> = Mutex::new(Vec::new());
    if !(1..=MAX_THREADS).contains(&threads) {
        return Err(Error::InvalidArgument(format!("threads must be between 1 and {MAX_THREADS}, not {threads}")));
    }
    // One thread means no executor at all: tract then runs on the calling thread.
    if threads == 1 {
        return Ok(None);
    }
    let mut pools = POOLS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, e)) = pools.iter().find(|(n, _)| *n == threads) {
        return Ok(Some(e.clone()));
    }
    let e = Executor::multithread_with_name(threads, "salur-face");
    pools.push((threads, e.clone()));
    Ok(Some(e))
}

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
pub(crate) fn load(spec: &ModelSpec, bytes: &[u8], input_shape: &[usize], settings: RunSettings) -> Result<Plan> {
    let executor = executor(settings.threads)?;
    let actual = sha256_hex(bytes);
    if actual != spec.sha256 {
        return Err(Error::ModelHash { model: spec.id.into(), expected: spec.sha256.into(), actual });
    }
    let tract_err = |e: TractError| Error::Model { model: spec.id.into(), detail: format!("{e:#}") };
    let mut proto = tract_onnx::pb::ModelProto::decode(bytes)
        .map_err(|e| Error::Model { model: spec.id.into(), detail: e.to_string() })?;
    let graph =
        proto.graph.as_mut().ok_or_else(|| Error::Model { model: spec.id.into(), detail: "no graph".into() })?;
    onnx_fold::prepare_graph(graph, spec.id, settings.rewrites)?;
    // The files carry value_info computed for their export size; we set our own input size.
    let model = tract_onnx::onnx().with_ignore_value_info(true).model_for_proto_model(&proto).map_err(tract_err)?;
    // The folded protobuf is as large as the float weights: free it before tract optimizes (peak memory).
    drop(proto);
    let model = model
        .with_input_fact(0, f32::fact(input_shape).into())
        .and_then(|m| m.into_typed())
        .and_then(|m| m.into_decluttered())
        .and_then(|m| if settings.f16 { to_f16(m) } else { Ok(m) })
        .and_then(|m| m.into_optimized())
        .and_then(|m| m.into_runnable_with_options(&RunOptions { executor, ..RunOptions::default() }))
        .map_err(tract_err)?;
    Ok(model)
}

/// Runs `plan` on one f32 input and returns its outputs.
pub(crate) fn run(plan: &Plan, spec: &ModelSpec, input: Tensor) -> Result<TVec<TValue>> {
    plan.run(tvec!(input.into())).map_err(|e| Error::Model { model: spec.id.into(), detail: format!("{e:#}") })
}

/// One model loaded with chosen settings and run on a raw input: for measuring the speed levers
/// side by side (`benches/face.rs`) and checking that they keep the outputs.
#[doc(hidden)]
pub struct RawModel {
    plan: Plan,
    spec: &'static ModelSpec,
    shape: Vec<usize>,
}

impl RawModel {
    /// Loads `spec` from `bytes` for one `input_shape` with `settings`.
    pub fn load(spec: &'static ModelSpec, bytes: &[u8], input_shape: &[usize], settings: RunSettings) -> Result<Self> {
        Ok(Self { plan: load(spec, bytes, input_shape, settings)?, spec, shape: input_shape.to_vec() })
    }

    /// Every output, flattened, for one input laid out in the load's shape.
    pub fn run(&self, input: &[f32]) -> Result<Vec<Vec<f32>>> {
        let mut tensor = Tensor::from_shape(&self.shape, input)
            .map_err(|e| Error::InvalidArgument(format!("input does not fit {:?}: {e}", self.shape)))?;
        let wanted = self.plan.model().input_fact(0).map_err(|e| bad_output(self.spec, e))?.datum_type;
        if wanted != f32::datum_type() {
            tensor = tensor.cast_to_dt(wanted).map_err(|e| bad_output(self.spec, e))?.into_owned();
        }
        run(&self.plan, self.spec, tensor)?
            .iter()
            .map(|t| {
                let t = t.cast_to::<f32>().map_err(|e| bad_output(self.spec, e))?;
                let plain = t.try_as_plain_ram().map_err(|e| bad_output(self.spec, e))?;
                Ok(plain.as_slice::<f32>().map_err(|e| bad_output(self.spec, e))?.to_vec())
            })
            .collect()
    }
}

fn bad_output(spec: &ModelSpec, e: impl std::fmt::Display) -> Error {
    Error::Model { model: spec.id.into(), detail: format!("unexpected output: {e}") }
}
