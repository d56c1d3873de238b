//! Checks for the exercises of chapter 7 (tutorials/ch07.md): the body of an Open Inference
//! Protocol request, and the answer read back out of a response.
//!
//! What is expected comes from the protocol's text (KServe's Open Inference Protocol, the
//! REST form that Triton, MLServer and `ferrolab serve` speak): a request is
//! `{"inputs": [{"name", "shape", "datatype", "data"}]}` with `data` in row-major order,
//! flat or nested by the shape; a response lists its `outputs` the same way, in any order.
//! The check builds its own responses and works out the right answers from them.

use serde_json::{json, Value};

use super::{check, Check};

/// One case: the input's name, the samples (flattened), one sample's shape.
type RequestCase = (&'static str, Vec<Vec<f32>>, Vec<usize>);

/// Exercise `infer-request`: `f(name, samples, sample_shape)` must return the JSON body of an
/// inference request with one `FP32` input tensor called `name`, of shape
/// `[samples.len(), …sample_shape]`, holding the samples in order.
pub fn infer_request(f: fn(&str, &[Vec<f32>], &[usize]) -> String) -> Check {
    check("infer-request", || {
        let image = |seed: usize| -> Vec<f32> {
            (0..784)
                .map(|p| ((seed * 31 + p * 7) % 17) as f32 / 16.0)
                .collect()
        };
        let cases: Vec<RequestCase> = vec![
            ("input", vec![vec![0.5, 1.0, 0.0, 0.25]], vec![1, 2, 2]),
            ("input", vec![vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]], vec![3]),
            ("pixels", (0..3).map(image).collect(), vec![1, 28, 28]),
        ];
        for (name, samples, shape) in cases {
            let body = f(name, &samples, &shape);
            judge_request(&body, name, &samples, &shape).map_err(|why| {
                let input = format!("name {name:?} and {} sample(s) of shape {shape:?}", samples.len());
                format!("for {input}: {why}\n  your body begins: {}", begin(&body))
            })?;
        }
        Ok(())
    })
}

fn judge_request(body: &str, name: &str, samples: &[Vec<f32>], shape: &[usize]) -> Result<(), String> {
    let request: Value = serde_json::from_str(body).map_err(|e| format!("the body is not JSON ({e})"))?;
    let inputs = request
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or("the body needs an \"inputs\" list")?;
    let [tensor] = inputs.as_slice() else {
        return Err(format!(
            "\"inputs\" should hold one tensor, it holds {}",
            inputs.len()
        ));
    };
    let field = |key: &str| tensor.get(key).ok_or(format!("the tensor has no \"{key}\""));
    if field("name")? != name {
        return Err(format!(
            "\"name\" should be {name:?}, the model's input, got {}",
            field("name")?
        ));
    }
    if field("datatype")? != "FP32" {
        return Err(format!(
            "\"datatype\" should be \"FP32\" (32-bit floats), got {}",
            field("datatype")?
        ));
    }
    let want_shape: Vec<usize> = [&[samples.len()][..], shape].concat();
    let got_shape: Option<Vec<usize>> = serde_json::from_value(field("shape")?.clone()).ok();
    if got_shape.as_deref() != Some(want_shape.as_slice()) {
        let got = field("shape")?;
        return Err(format!(
            "\"shape\" should be {want_shape:?}: the batch size first, then one sample's shape; got {got}"
        ));
    }
    let mut data = Vec::new();
    flatten(field("data")?, &mut data)?;
    let want: Vec<f32> = samples.concat();
    if data.len() != want.len() {
        return Err(format!(
            "\"data\" should hold {} numbers (every sample, one after the other), it holds {}",
            want.len(),
            data.len()
        ));
    }
    let per_sample = want.len() / samples.len().max(1);
    match (0..want.len()).find(|&i| (data[i] - f64::from(want[i])).abs() > 1e-6) {
        Some(i) => Err(format!(
            "\"data\"[{i}] should be {} (sample {}, value {}), got {}",
            want[i],
            i / per_sample,
            i % per_sample,
            data[i]
        )),
        None => Ok(()),
    }
}

/// Appends the numbers of a flat or nested JSON list, in order.
fn flatten(value: &Value, out: &mut Vec<f64>) -> Result<(), String> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|v| flatten(v, out)),
        Value::Number(n) => {
            out.push(n.as_f64().unwrap_or(f64::NAN));
            Ok(())
        }
        other => Err(format!("\"data\" should hold numbers, found {other}")),
    }
}

/// The first 120 characters of `text`.
fn begin(text: &str) -> String {
    match text.char_indices().nth(120) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

/// Exercise `top-class`: `f(response)` must return, for every sample of an inference
/// response, the most probable class and its probability, read from the output tensor
/// named `probabilities` (shape `[samples, classes]`), wherever it is in the list.
pub fn top_class(f: fn(&str) -> Vec<(usize, f32)>) -> Check {
    check("top-class", || {
        let cases = [
            response(&[&[0.1, 0.7, 0.2]], true),
            response(&[&[0.05, 0.05, 0.9], &[0.6, 0.3, 0.1]], false),
            response(&[&[0.25, 0.75], &[0.5, 0.5], &[0.9, 0.1], &[0.0, 1.0]], true),
        ];
        for (body, want) in cases {
            let got = f(&body);
            let input = format!("the response {}", begin(&body));
            if got.len() != want.len() {
                return Err(format!(
                    "for {input}: expected one answer per sample ({}), got {}",
                    want.len(),
                    got.len()
                ));
            }
            for (row, (&(g_class, g_p), &(w_class, w_p))) in got.iter().zip(&want).enumerate() {
                if g_class != w_class || (g_p - w_p).abs() > 1e-6 {
                    return Err(format!(
                        "for {input}: sample {row} should be class {w_class} with probability {w_p}, got class {g_class} with {g_p} \
                         (read \"probabilities\", not the logits)"
                    ));
                }
            }
        }
        Ok(())
    })
}

/// A response with `logits` and `probabilities` (listed first when `probabilities_first`),
/// and the right answers: each row's first largest probability.
fn response(rows: &[&[f32]], probabilities_first: bool) -> (String, Vec<(usize, f32)>) {
    let classes = rows[0].len();
    let probabilities: Vec<f32> = rows.concat();
    // Logits whose largest entry is elsewhere, so reading them gives a wrong answer.
    let logits: Vec<f32> = probabilities.iter().map(|p| 1.0 - p).collect();
    let tensor = |name: &str, data: &[f32]| json!({"name": name, "datatype": "FP32", "shape": [rows.len(), classes], "data": data});
    let (p, l) = (tensor("probabilities", &probabilities), tensor("logits", &logits));
    let outputs = if probabilities_first {
        vec![p, l]
    } else {
        vec![l, p]
    };
    let body = json!({"model_name": "cnn", "model_version": "1", "id": "42", "outputs": outputs}).to_string();
    let want = rows
        .iter()
        .map(|row| {
            let best = (0..classes).fold(0, |b, c| if row[c] > row[b] { c } else { b });
            (best, row[best])
        })
        .collect();
    (body, want)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::tests::incorrect;
    use crate::exercises::Verdict;

    fn flat(name: &str, samples: &[Vec<f32>], shape: &[usize]) -> String {
        let shape: Vec<usize> = [&[samples.len()][..], shape].concat();
        json!({"inputs": [{"name": name, "shape": shape, "datatype": "FP32", "data": samples.concat()}]})
            .to_string()
    }

    fn nested(name: &str, samples: &[Vec<f32>], shape: &[usize]) -> String {
        let shape: Vec<usize> = [&[samples.len()][..], shape].concat();
        json!({"inputs": [{"name": name, "shape": shape, "datatype": "FP32", "data": samples}]}).to_string()
    }

    fn no_batch_dim(name: &str, samples: &[Vec<f32>], shape: &[usize]) -> String {
        json!({"inputs": [{"name": name, "shape": shape, "datatype": "FP32", "data": samples.concat()}]})
            .to_string()
    }

    fn untouched(_: &str, _: &[Vec<f32>], _: &[usize]) -> String {
        todo!()
    }

    #[test]
    fn infer_request_verdicts() {
        assert_eq!(infer_request(flat).verdict, Verdict::Correct);
        assert_eq!(infer_request(nested).verdict, Verdict::Correct);
        let why = incorrect(infer_request(no_batch_dim));
        assert!(
            why.contains("the batch size first") && why.contains("[1, 1, 2, 2]"),
            "{why}"
        );
        assert_eq!(infer_request(untouched).verdict, Verdict::NotAttempted);
    }

    /// Each row's first largest entry of the output tensor `out`.
    fn top_of(out: &Value) -> Vec<(usize, f32)> {
        let classes = out["shape"][1].as_u64().unwrap() as usize;
        let data: Vec<f32> = out["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect();
        data.chunks(classes)
            .map(|row| {
                let best = (0..classes).fold(0, |b, c| if row[c] > row[b] { c } else { b });
                (best, row[best])
            })
            .collect()
    }

    fn from_probabilities(body: &str) -> Vec<(usize, f32)> {
        let v: Value = serde_json::from_str(body).unwrap();
        top_of(
            v["outputs"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == "probabilities")
                .unwrap(),
        )
    }

    fn first_output(body: &str) -> Vec<(usize, f32)> {
        let v: Value = serde_json::from_str(body).unwrap();
        top_of(&v["outputs"][0])
    }

    fn not_yet(_: &str) -> Vec<(usize, f32)> {
        todo!()
    }

    #[test]
    fn top_class_verdicts() {
        assert_eq!(top_class(from_probabilities).verdict, Verdict::Correct);
        let why = incorrect(top_class(first_output));
        assert!(
            why.contains("sample 0 should be class 2") && why.contains("not the logits"),
            "{why}"
        );
        assert_eq!(top_class(not_yet).verdict, Verdict::NotAttempted);
    }
}
