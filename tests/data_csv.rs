//! Reads small CSV files written to a temp dir, good and bad, and checks values and error messages.

use std::path::PathBuf;

use ferrolab::data::{read_csv, CsvOptions, DataError, Dataset, LabelColumn};

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn by_name(label: &str) -> CsvOptions {
    CsvOptions {
        label: LabelColumn::Name(label.into()),
        ..Default::default()
    }
}

fn error_text(path: &PathBuf, options: &CsvOptions) -> String {
    read_csv(path, options).unwrap_err().to_string()
}

#[test]
fn reads_a_good_file_with_string_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "iris.csv",
        "petal_len,petal_wid,species\n1.4,0.2,setosa\n4.7,1.4,versicolor\n\n5.1,1.8,virginica\n1.3,0.3,setosa\n",
    );
    let t = read_csv(&path, &by_name("species")).unwrap();
    assert_eq!(t.data.len(), 4);
    assert_eq!(t.data.item_shape(), vec![2]);
    assert_eq!(t.data.labels, vec![0, 1, 2, 0]);
    assert_eq!(t.data.classes, vec!["setosa", "versicolor", "virginica"]);
    assert_eq!(t.data.item(2), &[5.1, 1.8]);
}

#[test]
fn bad_number_names_file_line_column_and_value() {
    let dir = tempfile::tempdir().unwrap();
    // Line 7 as an editor counts: header is line 1.
    let path = write(
        &dir,
        "data.csv",
        "petal_len,label\n1,0\n2,1\n3,0\n4,1\n5,0\nabc,1\n",
    );
    let msg = error_text(&path, &by_name("label"));
    assert!(
        msg.ends_with(r#"data.csv:7: column "petal_len": "abc" is not a number"#),
        "{msg}"
    );
    assert!(msg.starts_with(dir.path().to_str().unwrap()), "{msg}");
}

#[test]
fn headerless_file_names_columns_by_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "plain.csv", "0.5,1.5,0\n0.25,,1\n");
    let opts = CsvOptions {
        has_header: false,
        ..Default::default()
    };
    let msg = error_text(&path, &opts);
    assert!(
        msg.ends_with(r#"plain.csv:2: column 2: "" is not a number"#),
        "{msg}"
    );
}

#[test]
fn ragged_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "ragged.csv", "a,b,label\n1,2,0\n3,1\n");
    let msg = error_text(&path, &CsvOptions::default());
    assert!(msg.ends_with("ragged.csv:3: expected 3 fields, found 2"), "{msg}");
}

#[test]
fn infinite_and_nan_values_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "nan.csv", "x,y\n1,0\nNaN,1\n");
    let msg = error_text(&path, &CsvOptions::default());
    assert!(
        msg.ends_with(r#"nan.csv:3: column "x": "NaN" is not a finite number"#),
        "{msg}"
    );
}

#[test]
fn missing_label_column_lists_the_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "cols.csv", "a,b\n1,2\n");
    let msg = error_text(&path, &by_name("species"));
    assert!(
        msg.ends_with(r#"cols.csv: no column named "species" (columns: a, b)"#),
        "{msg}"
    );
    let opts = CsvOptions {
        label: LabelColumn::Index(5),
        ..Default::default()
    };
    assert!(error_text(&path, &opts).contains("label column index 5"));
}

#[test]
fn empty_and_missing_files_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "empty.csv", "a,b\n");
    let msg = error_text(&path, &CsvOptions::default());
    assert!(msg.ends_with("empty.csv: no data rows"), "{msg}");
    let missing = dir.path().join("nope.csv");
    let err = read_csv(&missing, &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }));
    assert!(err.to_string().contains("nope.csv"), "{err}");
}

#[test]
fn integer_labels_by_index_and_semicolons() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "semi.csv", "y;x1;x2\n3;1.0;2.0\n1;-1e3;0\n");
    let opts = CsvOptions {
        label: LabelColumn::Index(0),
        delimiter: b';',
        ..Default::default()
    };
    let t = read_csv(&path, &opts).unwrap();
    assert_eq!(t.data.labels, vec![3, 1]);
    assert_eq!(t.data.classes.len(), 4);
    assert_eq!(t.data.features, vec![1.0, 2.0, -1000.0, 0.0]);
    assert_eq!(t.label_name, "y");
}

#[test]
fn text_labels_can_be_forced_and_errors_convert_to_the_crate_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "codes.csv", "x,code\n1,10\n2,2\n");
    let opts = CsvOptions {
        label_kind: ferrolab::data::LabelKind::Text,
        ..Default::default()
    };
    // As text, "10" sorts before "2".
    let t = read_csv(&path, &opts).unwrap();
    assert_eq!(t.data.classes, vec!["10", "2"]);
    assert_eq!(t.data.labels, vec![0, 1]);

    let load = || -> ferrolab::Result<usize> {
        let bad = write(&dir, "bad.csv", "x,y\noops,1\n");
        Ok(read_csv(bad, &CsvOptions::default())?.data.len())
    };
    let err = load().unwrap_err();
    assert!(matches!(err, ferrolab::Error::Data(_)));
    assert!(
        err.to_string()
            .ends_with(r#"bad.csv:2: column "x": "oops" is not a number"#),
        "{err}"
    );
}
