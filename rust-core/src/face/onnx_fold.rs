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

/// Rewrites `graph` in place: folds constant dequantization, prunes unused inputs, speeds up PRelu.
pub(crate) fn prepare_graph(graph: &mut GraphProto, model: &str) -> Result<()> {
    fold_constants(graph, model)?;
    rewrite_prelu(graph);
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

/// Rewrites `PRelu(x, a)` as `Relu(x) + a * Min(x, 0)`: same values, but tract lowers PRelu to a
/// compare, select and multiply that took about half of SFace's time.
fn rewrite_prelu(graph: &mut GraphProto) {
    const ZERO: &str = "salur_prelu_zero";
    let mut nodes = Vec::with_capacity(graph.node.len());
    let mut used = false;
    for node in graph.node.drain(..) {
        if node.op_type != "PRelu" || node.input.len() != 2 {
            nodes.push(node);
            continue;
        }
        used = true;
        let (x, a, y) = (&node.input[0], &node.input[1], &node.output[0]);
        let t = |suffix: &str| format!("{y}_salur_{suffix}");
        let op = |op: &str, inputs: Vec<String>, out: String| NodeProto {
            op_type: op.into(),
            name: out.clone(),
            input: inputs,
            output: vec![out],
            ..Default::default()
        };
        nodes.push(op("Relu", vec![x.clone()], t("pos")));
        nodes.push(op("Min", vec![x.clone(), ZERO.into()], t("neg")));
        nodes.push(op("Mul", vec![t("neg"), a.clone()], t("scaled")));
        nodes.push(op("Add", vec![t("pos"), t("scaled")], y.clone()));
    }
    graph.node = nodes;
    if used {
        graph.initializer.push(TensorProto { name: ZERO.into(), ..float_tensor(&[], &[0.0]) });
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
