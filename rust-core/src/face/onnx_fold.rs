//! Load-time rewrites of the shipped ONNX files so that tract can run them fast.
//!
//! The repository ships the small int8 block-quantized files from the OpenCV Model Zoo. tract 0.23
//! refuses block-quantized `DequantizeLinear`, and would not fold constants over 4 MiB anyway (so a
//! dequantize left in the graph runs at every inference). The weights are constants, so we fold each
//! `DequantizeLinear` (and the `Reshape` that follows it) into a float initializer here, in Rust, at
//! load time: nothing at run time needs Python and the files stay small.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{tensor_proto::DataType, AttributeProto, GraphProto, NodeProto, TensorProto};

use crate::error::{Error, Result};

/// Rewrites `graph` in place: folds constant dequantization, prunes unused inputs, and applies
/// the speed `rewrites`.
pub(crate) fn prepare_graph(graph: &mut GraphProto, model: &str, rewrites: Rewrites) -> Result<()> {
    fold_constants(graph, model)?;
    rewrite_prelu(graph, rewrites.prelu);
    if rewrites.split_maxpool {
        split_maxpool(graph);
    }
    prune(graph);
    Ok(())
}

fn bad(model: &str, what: impl std::fmt::Display) -> Error {
    Error::Model { model: model.to_string(), detail: what.to_string() }
}

/// Folds every `DequantizeLinear` and `Reshape` whose inputs are all initializers.
fn fold_constants(graph: &mut GraphProto, model: &str) -> Result<()> {
    let mut inits: HashMap<String, TensorProto> = graph.initializer.drain(..).map(|t| (t.name.clone(), t)).collect();
    let mut kept = Vec::with_capacity(graph.node.len());
    for node in graph.node.drain(..) {
        let foldable = matches!(node.op_type.as_str(), "DequantizeLinear" | "Reshape")
            && node.input.iter().all(|i| inits.contains_key(i))
            && node.output.len() == 1;
        if !foldable {
            kept.push(node);
            continue;
        }
        let inputs: Vec<&TensorProto> = node.input.iter().map(|i| &inits[i]).collect();
        let folded = match node.op_type.as_str() {
            "DequantizeLinear" => dequantize(&node, &inputs).map_err(|e| bad(model, e))?,
            _ => reshape(&inputs).map_err(|e| bad(model, e))?,
        };
        let name = node.output[0].clone();
        inits.insert(name.clone(), TensorProto { name, ..folded });
    }
    graph.node = kept;
    graph.initializer = inits.into_values().collect();
    Ok(())
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn dims(t: &TensorProto) -> Result<Vec<usize>, String> {
    t.dims.iter().map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension in {}", t.name))).collect()
}

/// Element values of a constant tensor as f32 (int8, uint8, int32, int64 and float are enough here).
fn values(t: &TensorProto) -> Result<Vec<f32>, String> {
    let raw = &t.raw_data;
    let dt = DataType::try_from(t.data_type).map_err(|_| format!("{}: unknown type", t.name))?;
    let v: Vec<f32> = match dt {
        DataType::Int8 if !raw.is_empty() => raw.iter().map(|&b| b as i8 as f32).collect(),
        DataType::Uint8 if !raw.is_empty() => raw.iter().map(|&b| b as f32).collect(),
        DataType::Int8 | DataType::Uint8 | DataType::Int32 => t.int32_data.iter().map(|&x| x as f32).collect(),
        DataType::Float if !raw.is_empty() => {
            raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
        DataType::Float => t.float_data.clone(),
        DataType::Int64 => int64_values(t)?.into_iter().map(|x| x as f32).collect(),
        other => return Err(format!("{}: constant of type {other:?} not supported", t.name)),
    };
    let expected: usize = dims(t)?.iter().product();
    if v.len() != expected {
        return Err(format!("{}: {} values for {} elements", t.name, v.len(), expected));
    }
    Ok(v)
}

fn int64_values(t: &TensorProto) -> Result<Vec<i64>, String> {
    if t.raw_data.is_empty() {
        return Ok(t.int64_data.clone());
    }
    Ok(t.raw_data.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().expect("chunk of 8"))).collect())
}

fn float_tensor(dims: &[usize], v: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// `y = (x - zero_point) * scale`, per tensor, per axis or per block along `axis` (opset 21).
fn dequantize(node: &NodeProto, inputs: &[&TensorProto]) -> Result<TensorProto, String> {
    let x_dims = dims(inputs[0])?;
    let x = values(inputs[0])?;
    let scale = values(inputs[1])?;
    let s_dims = dims(inputs[1])?;
    let zero = match inputs.get(2) {
        Some(z) => values(z)?,
        None => vec![0.0; scale.len()],
    };
    if zero.len() != scale.len() {
        return Err(format!("{}: zero point and scale differ in size", node.name));
    }
    let rank = x_dims.len() as i64;
    let axis = attr(node, "axis").map_or(1, |a| a.i);
    let axis =
        usize::try_from(if axis < 0 { axis + rank } else { axis }).map_err(|_| format!("{}: bad axis", node.name))?;
    let block = attr(node, "block_size").map_or(0, |a| a.i) as usize;
    if axis >= x_dims.len() {
        return Err(format!("{}: axis out of range", node.name));
    }
    let (a_len, inner) = (x_dims[axis], x_dims[axis + 1..].iter().product::<usize>());
    let per_block = block > 0 && scale.len() > 1;
    let s_axis = if per_block {
        let fits = s_dims.len() == x_dims.len()
            && (0..x_dims.len()).all(|d| {
                if d == axis {
                    s_dims[d] == a_len.div_ceil(block)
                } else {
                    s_dims[d] == x_dims[d]
                }
            });
        if !fits {
            return Err(format!("{}: block scale shape does not fit the input", node.name));
        }
        s_dims[axis]
    } else {
        0
    };
    // Index of the scale that applies to the element at `flat`: scale dims equal the input's
    // except along `axis`, where one scale covers `block` elements (or one per index per-axis).
    let scale_index = |flat: usize| -> usize {
        let a = (flat / inner) % a_len;
        match (scale.len(), per_block) {
            (1, _) => 0,
            (_, false) => a,
            _ => ((flat / (a_len * inner)) * s_axis + a / block) * inner + flat % inner,
        }
    };
    let mut y = Vec::with_capacity(x.len());
    for (i, &q) in x.iter().enumerate() {
        let s = scale_index(i);
        let (sc, zp) =
            scale.get(s).zip(zero.get(s)).ok_or_else(|| format!("{}: scale index out of range", node.name))?;
        y.push((q - zp) * sc);
    }
    Ok(float_tensor(&x_dims, &y))
}

/// Constant `Reshape` with ONNX's 0 (copy) and -1 (infer) conventions.
fn reshape(inputs: &[&TensorProto]) -> Result<TensorProto, String> {
    let data = inputs[0];
    if data.data_type != DataType::Float as i32 {
        return Err(format!("{}: only float reshapes are folded", data.name));
    }
    let in_dims = dims(data)?;
    let total: usize = in_dims.iter().product();
    let spec = int64_values(inputs[1])?;
    let mut out: Vec<i64> = spec.iter().enumerate().map(|(i, &d)| if d == 0 { in_dims[i] as i64 } else { d }).collect();
    let known: i64 = out.iter().filter(|&&d| d != -1).product();
    if let Some(d) = out.iter_mut().find(|d| **d == -1) {
        *d = total as i64 / known.max(1);
    }
    if out.iter().product::<i64>() != total as i64 {
        return Err(format!("{}: reshape to {out:?} does not keep {total} elements", data.name));
    }
    Ok(TensorProto { dims: out, ..data.clone() })
}

/// How `PRelu(x, a)` reaches tract (the engine uses [`PreluForm::Chain`]; the others stay to
/// measure it against).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreluForm {
    /// As in the file: tract lowers it to a compare, a select and a multiply.
    Native,
    /// `Relu(x) + a * Min(x, 0)`: about half of SFace's time back from the native form.
    ReluPlusNegative,
    /// `x + (a - 1) * Min(x, 0)`: the same values, and tract fuses the min, multiply and add
    /// into one pass over the map.
    Chain,
}

/// The load-time rewrites that only change speed, each with its off switch for the benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrites {
    /// The form PRelu is written in.
    pub prelu: PreluForm,
    /// 2x2 stride-2 MaxPool as a `[2,1]` pool then a `[1,2]` pool (see [`split_maxpool`]).
    pub split_maxpool: bool,
}

impl Rewrites {
    /// What the engine runs.
    pub const FAST: Self = Self { prelu: PreluForm::Chain, split_maxpool: true };
    /// The engine before these levers (PRelu already rewritten, pools as in the file).
    pub const BEFORE: Self = Self { prelu: PreluForm::ReluPlusNegative, split_maxpool: false };
}

fn node(op: &str, inputs: Vec<String>, out: String) -> NodeProto {
    NodeProto { op_type: op.into(), name: out.clone(), input: inputs, output: vec![out], ..Default::default() }
}

/// Rewrites every `PRelu(x, a)` in the chosen form (same values up to float rounding: the
/// chain form differs from the native one by at most a few 1e-6 on SFace's embedding).
fn rewrite_prelu(graph: &mut GraphProto, form: PreluForm) {
    const ZERO: &str = "salur_prelu_zero";
    if form == PreluForm::Native {
        return;
    }
    let mut slopes: HashMap<String, TensorProto> = HashMap::new();
    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut used = false;
    for n in graph.node.drain(..) {
        if n.op_type != "PRelu" || n.input.len() != 2 {
            nodes.push(n);
            continue;
        }
        let (x, a, y) = (&n.input[0], &n.input[1], &n.output[0]);
        let t = |suffix: &str| format!("{y}_salur_{suffix}");
        // The chain form needs `a - 1` as a constant: only when the slope is a float initializer.
        let slope_minus_one = (form == PreluForm::Chain)
            .then(|| graph.initializer.iter().find(|i| &i.name == a))
            .flatten()
            .and_then(|init| values(init).ok().map(|v| (init, v)))
            .filter(|(init, _)| init.data_type == DataType::Float as i32);
        used = true;
        nodes.push(node("Min", vec![x.clone(), ZERO.into()], t("neg")));
        match slope_minus_one {
            Some((init, v)) => {
                let name = format!("{a}_salur_minus_one");
                let shifted: Vec<f32> = v.iter().map(|s| s - 1.0).collect();
                let dims: Vec<usize> = init.dims.iter().map(|&d| d as usize).collect();
                slopes
                    .entry(name.clone())
                    .or_insert_with(|| TensorProto { name: name.clone(), ..float_tensor(&dims, &shifted) });
                nodes.push(node("Mul", vec![t("neg"), name], t("scaled")));
                nodes.push(node("Add", vec![x.clone(), t("scaled")], y.clone()));
            }
            None => {
                nodes.push(node("Relu", vec![x.clone()], t("pos")));
                nodes.push(node("Mul", vec![t("neg"), a.clone()], t("scaled")));
                nodes.push(node("Add", vec![t("pos"), t("scaled")], y.clone()));
            }
        }
    }
    graph.node = nodes;
    graph.initializer.extend(slopes.into_values());
    if used {
        graph.initializer.push(TensorProto { name: ZERO.into(), ..float_tensor(&[], &[0.0]) });
    }
}

/// Splits each unpadded 2x2 stride-2 `MaxPool` into a `[2,1]` then a `[1,2]` pool.
///
/// The maximum of four values is the same taken in two steps, so the output is bit-identical;
/// tract 0.23 runs a 2x2 stride-2 pool through a scalar per-pixel loop, but a pool one tap wide
/// along the row through its row-span path, which compares whole rows at a time.
fn split_maxpool(graph: &mut GraphProto) {
    let ints = |n: &NodeProto, name: &str| attr(n, name).map(|a| a.ints.clone());
    let mut nodes = Vec::with_capacity(graph.node.len());
    for n in graph.node.drain(..) {
        let plain_2x2 = n.op_type == "MaxPool"
            && n.output.len() == 1
            && ints(&n, "kernel_shape").as_deref() == Some(&[2, 2])
            && ints(&n, "strides").as_deref() == Some(&[2, 2])
            && ints(&n, "pads").is_none_or(|p| p.iter().all(|&v| v == 0))
            && ints(&n, "dilations").is_none_or(|d| d.iter().all(|&v| v == 1))
            && attr(&n, "auto_pad").is_none_or(|a| a.s.is_empty() || a.s == b"NOTSET")
            && attr(&n, "storage_order").is_none_or(|a| a.i == 0)
            // ceil_mode 1 pads an odd map's last row and column: two one-tap pools would not.
            && attr(&n, "ceil_mode").is_none_or(|a| a.i == 0);
        if !plain_2x2 {
            nodes.push(n);
            continue;
        }
        let (x, y) = (n.input[0].clone(), n.output[0].clone());
        let mid = format!("{y}_salur_rows");
        let pool = |input: String, out: String, k: [i64; 2]| NodeProto {
            attribute: vec![ints_attr("kernel_shape", &k), ints_attr("strides", &k)],
            ..node("MaxPool", vec![input], out)
        };
        nodes.push(pool(x, mid.clone(), [2, 1]));
        nodes.push(pool(mid, y, [1, 2]));
    }
    graph.node = nodes;
}

fn ints_attr(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: tract_onnx::pb::attribute_proto::AttributeType::Ints as i32,
        ints: v.to_vec(),
        ..Default::default()
    }
}

/// Drops initializers no node reads and graph inputs that either no node reads or that have an
/// initializer (SFace declares 175 inputs; only `data` is a real one).
fn prune(graph: &mut GraphProto) {
    let read: HashSet<&str> = graph.node.iter().flat_map(|n| n.input.iter().map(String::as_str)).collect();
    graph.initializer.retain(|t| read.contains(t.name.as_str()));
    let inits: HashSet<String> = graph.initializer.iter().map(|t| t.name.clone()).collect();
    graph.input.retain(|i| read.contains(i.name.as_str()) && !inits.contains(&i.name));
    graph.value_info.clear();
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::{Path, PathBuf};

    use prost::Message;

    use super::*;
    use crate::face::models::{RawModel, RunSettings, SFACE, YUNET};
    use crate::face::{align_crop, detect, read_image, recognize, FaceConfig, FaceEngine, FacePick};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn op_count(bytes: &[u8], rewrites: Rewrites, op: &str) -> usize {
        let mut proto = tract_onnx::pb::ModelProto::decode(bytes).unwrap();
        let graph = proto.graph.as_mut().unwrap();
        prepare_graph(graph, "test", rewrites).unwrap();
        graph.node.iter().filter(|n| n.op_type == op).count()
    }

    fn settings(rewrites: Rewrites) -> RunSettings {
        RunSettings { rewrites, ..RunSettings::default() }
    }

    #[test]
    fn split_maxpools_give_yunet_bit_identical_outputs_on_a_real_photo() {
        let bytes = std::fs::read(root().join("models").join(YUNET.file)).unwrap();
        assert_eq!(op_count(&bytes, Rewrites::BEFORE, "MaxPool"), 4);
        assert_eq!(op_count(&bytes, Rewrites::FAST, "MaxPool"), 8, "each 2x2 pool becomes two");
        let photo = read_image(&root().join("test-vectors/faces/single/fr_lin_manuel_miranda.jpg")).unwrap();
        let input = detect::letterbox(&photo, 640).tensor;
        let input = input.try_as_plain_ram().unwrap().as_slice::<f32>().unwrap().to_vec();
        let shape = [1, 3, 640, 640];
        let before = RawModel::load(&YUNET, &bytes, &shape, settings(Rewrites::BEFORE)).unwrap().run(&input).unwrap();
        let after = RawModel::load(&YUNET, &bytes, &shape, settings(Rewrites::FAST)).unwrap().run(&input).unwrap();
        assert_eq!(before.len(), after.len());
        for (b, a) in before.iter().zip(&after) {
            assert!(b.iter().zip(a).all(|(x, y)| x.to_bits() == y.to_bits()), "outputs differ");
        }
    }

    #[test]
    fn every_prelu_form_gives_sface_the_same_embedding() {
        let models = root().join("models");
        let bytes = std::fs::read(models.join(SFACE.file)).unwrap();
        assert_eq!(op_count(&bytes, Rewrites::FAST, "PRelu"), 0);
        assert_eq!(op_count(&bytes, Rewrites::FAST, "Relu"), 0, "the chain form needs no Relu");
        let engine = FaceEngine::from_dir(&models, FaceConfig::default()).unwrap();
        let photo = read_image(&root().join("test-vectors/faces/single/fr_lin_manuel_miranda.jpg")).unwrap();
        let face = engine.capture(&photo, FacePick::Single).unwrap().detection;
        let input = recognize::planar_rgb(&align_crop(&photo, &face.landmarks));
        let shape = [1, 3, 112, 112];
        let embed = |prelu| {
            let rewrites = Rewrites { prelu, ..Rewrites::FAST };
            RawModel::load(&SFACE, &bytes, &shape, settings(rewrites)).unwrap().run(&input).unwrap().remove(0)
        };
        let native = embed(PreluForm::Native);
        let scale = native.iter().fold(0f32, |m, v| m.max(v.abs()));
        for form in [PreluForm::ReluPlusNegative, PreluForm::Chain] {
            let other = embed(form);
            let worst = native.iter().zip(&other).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(worst <= 1e-5 * scale, "{form:?}: largest difference {worst} (largest value {scale})");
        }
    }
}
