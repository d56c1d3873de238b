//! A user's own Dataset type goes through batching, tensor conversion and preview like the built-in ones.

use dfdx::shapes::HasShape;
use dfdx::tensor::Cpu;
use ferrolab::data::{Batch, BatchInputs, Dataset, Input, Sample};

/// Item i is a 2-step, 3-feature sequence filled with i; label i % 4.
struct Ramp(usize);

impl Dataset for Ramp {
    fn len(&self) -> usize {
        self.0
    }
    fn item_shape(&self) -> Vec<usize> {
        vec![2, 3]
    }
    fn get(&self, index: usize) -> Sample {
        Sample {
            input: Input::Features(vec![index as f32; 6]),
            label: index % 4,
        }
    }
}

#[test]
fn user_dataset_batches_into_tensors() {
    let ds = Ramp(7);
    let batches: Vec<Batch> = ds.batches(3).collect::<Result<_, _>>().unwrap();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[2].shape, vec![1, 2, 3]);
    assert_eq!(batches[1].labels, vec![3, 0, 1]);
    let dev: Cpu = Default::default();
    let x = batches[1].sequences::<f64, _>(&dev).unwrap();
    assert_eq!(x.shape(), &(3, 2, 3));
    assert_eq!(x.as_vec()[6..12], [4.0; 6]);
    let flat = batches[1].features::<f32, _>(&dev).unwrap();
    assert_eq!(flat.shape(), &(3, 6));
    let y = batches[1].labels_one_hot::<f32, _>(&dev, 4).unwrap();
    assert_eq!(y.as_vec()[..4], [0.0, 0.0, 0.0, 1.0]);
    let e = batches[1].images::<f32, _>(&dev).unwrap_err();
    assert!(e.to_string().contains("rank 4"), "{e}");
}

#[test]
fn drop_last_and_shuffle_compose() {
    let ds = Ramp(10);
    let a: Vec<Vec<usize>> = ds
        .batches(4)
        .shuffled(3)
        .drop_last(true)
        .map(|b| b.unwrap().indices)
        .collect();
    assert_eq!(a.len(), 2);
    assert!(a.iter().all(|b| b.len() == 4));
    let b: Vec<Vec<usize>> = ds
        .batches(4)
        .drop_last(true)
        .shuffled(3)
        .map(|b| b.unwrap().indices)
        .collect();
    assert_eq!(a, b);
    let first = ds.batches(4).shuffled(3).next().unwrap().unwrap();
    let BatchInputs::Features(v) = &first.inputs else {
        panic!("features expected")
    };
    // Every item's values are its own index: inputs followed the shuffle.
    for (k, &i) in first.indices.iter().enumerate() {
        assert!(v[k * 6..k * 6 + 6].iter().all(|&x| x == i as f32));
        assert_eq!(first.labels[k], i % 4);
    }
}

#[test]
fn preview_of_a_user_dataset() {
    let text = Ramp(5).preview(2).to_string();
    assert_eq!(
        text,
        "index | shape  | input | label\n------+--------+-------+------\n0     | (2, 3) | f32   | 0\n1     | (2, 3) | f32   | 1\n2 of 5 items"
    );
    let bundle = ferrolab::display::Displayable::mime_bundle(&Ramp(5).preview(2));
    assert_eq!(bundle.get("text/plain"), Some(text.as_str()));
    let html = bundle.get("text/html").unwrap();
    assert!(html.starts_with("<table><caption>5 items</caption>"), "{html}");
    assert!(
        html.contains("<tr><td>1</td><td>(2, 3)</td><td>f32</td><td>1</td></tr>"),
        "{html}"
    );
}

/// A dataset that breaks its own contract: item 1 is too short.
struct Broken;

impl Dataset for Broken {
    fn len(&self) -> usize {
        2
    }
    fn item_shape(&self) -> Vec<usize> {
        vec![3]
    }
    fn get(&self, index: usize) -> Sample {
        Sample {
            input: Input::Features(vec![0.0; 3 - index]),
            label: 0,
        }
    }
}

#[test]
fn inconsistent_items_are_an_error_that_names_the_item() {
    let e = Broken.batches(2).next().unwrap().unwrap_err();
    assert_eq!(
        e.to_string(),
        "dataset: item 1 has 2 values but item_shape [3] needs 3"
    );
}

#[test]
fn a_batch_size_of_zero_is_one_error() {
    let mut batches = Ramp(5).batches(0).shuffled(1);
    assert_eq!(batches.len(), 1);
    let e = batches.next().unwrap().unwrap_err();
    assert_eq!(e.to_string(), "batch_size: must be at least 1");
    assert!(batches.next().is_none());
}

#[test]
fn fit_reports_a_broken_dataset_as_an_error() {
    let dev = Cpu::default();
    let mut model = ferrolab::models::Mlp::<f32, Cpu>::new(&dev, 3, 4, 2);
    let cfg = ferrolab::train::FitConfig::default().verbose(ferrolab::train::Verbose::Silent);
    let e = ferrolab::train::fit(&mut model, &Broken, &cfg).unwrap_err();
    assert!(e.to_string().contains("item 1 has 2 values"), "{e}");
}
