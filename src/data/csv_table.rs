//! Reads a CSV table into a [`FeatureSet`]: one label column, every other column a number.
//!
//! Labels are whole numbers used as class indices, or text mapped to indices in sorted
//! order (the mapping is kept in `classes`). Errors name the file, the 1-based line as an
//! editor shows it, the column and the bad value. Not handled: missing values (an empty
//! field is an error), categorical feature columns, regression targets.

use std::collections::BTreeSet;
use std::path::Path;

use super::dataset::FeatureSet;
use super::error::{Column, DataError, DataResult};

/// Which column holds the class labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelColumn {
    /// The column with this header name (needs a header).
    Name(String),
    /// The column at this 0-based position (`Index(0)` is the first column).
    Index(usize),
    /// The last column.
    Last,
}

/// How to read the label column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// Whole numbers when every label is one, otherwise text.
    Auto,
    /// Whole numbers ≥ 0, used as class indices; anything else is an error.
    Index,
    /// Text, mapped to 0.. in sorted order (even "3" is just a name).
    Text,
}

/// How to read a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Whether the first line names the columns.
    pub has_header: bool,
    pub label: LabelColumn,
    pub label_kind: LabelKind,
    pub delimiter: u8,
}

impl Default for CsvOptions {
    /// A header line, labels in the last column, read as numbers if they all are, commas.
    fn default() -> Self {
        CsvOptions {
            has_header: true,
            label: LabelColumn::Last,
            label_kind: LabelKind::Auto,
            delimiter: b',',
        }
    }
}

/// A CSV file read as a dataset, with its column names.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvTable {
    /// Items of shape `[feature_names.len()]`; `classes` maps label index to its text.
    pub data: FeatureSet,
    /// Names of the feature columns in file order (`column 3` style without a header).
    pub feature_names: Vec<String>,
    pub label_name: String,
}

impl CsvTable {
    /// The class index of a label as written in the file, e.g. `"setosa"`.
    pub fn class_index(&self, label: &str) -> Option<usize> {
        self.data.classes.iter().position(|c| c == label)
    }
}

/// Reads the CSV file at `path`; errors name the path as given.
pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> DataResult<CsvTable> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| DataError::io(&name, e))?;
    read_from(&name, file, options)
}

/// Reads CSV text; `name` stands for the file in error messages.
pub fn read_csv_str(name: &str, text: &str, options: &CsvOptions) -> DataResult<CsvTable> {
    read_from(name, text.as_bytes(), options)
}

fn read_from(name: &str, reader: impl std::io::Read, options: &CsvOptions) -> DataResult<CsvTable> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(options.has_header)
        .delimiter(options.delimiter)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let csv_err = |e: csv::Error| csv_error(name, e);

    let header: Option<Vec<String>> = if options.has_header {
        Some(
            rdr.headers()
                .map_err(csv_err)?
                .iter()
                .map(str::to_string)
                .collect(),
        )
    } else {
        None
    };

    let mut features = Vec::new();
    let mut raw_labels: Vec<(String, u64)> = Vec::new();
    let mut width = header.as_ref().map(Vec::len);
    let mut label_at = None;
    let mut record = csv::StringRecord::new();
    while rdr.read_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, |p| p.line());
        let n = *width.get_or_insert(record.len());
        let label = *match &mut label_at {
            Some(at) => at,
            slot => slot.insert(label_index(name, header.as_deref(), n, &options.label)?),
        };
        for (i, field) in record.iter().enumerate() {
            if i == label {
                raw_labels.push((field.to_string(), line));
                continue;
            }
            let column = column_ref(header.as_deref(), i);
            features.push(parse_number(name, line, column, field)?);
        }
    }
    let (Some(width), Some(label)) = (width, label_at) else {
        return Err(DataError::file(name, "no data rows"));
    };

    let label_column = column_ref(header.as_deref(), label);
    let (labels, classes) = map_labels(name, &label_column, &raw_labels, options.label_kind)?;
    let names: Vec<String> = (0..width)
        .map(|i| match &header {
            Some(h) => h[i].clone(),
            None => format!("column {}", i + 1),
        })
        .collect();
    let label_name = names[label].clone();
    let feature_names: Vec<String> = names
        .into_iter()
        .enumerate()
        .filter(|&(i, _)| i != label)
        .map(|(_, n)| n)
        .collect();
    let data = FeatureSet::new(features, vec![feature_names.len()], labels, classes)?;
    Ok(CsvTable {
        data,
        feature_names,
        label_name,
    })
}

fn column_ref(header: Option<&[String]>, i: usize) -> Column {
    match header {
        Some(h) => Column::Name(h[i].clone()),
        None => Column::Position(i + 1),
    }
}

fn label_index(
    name: &str,
    header: Option<&[String]>,
    width: usize,
    wanted: &LabelColumn,
) -> DataResult<usize> {
    match wanted {
        LabelColumn::Last if width > 0 => Ok(width - 1),
        LabelColumn::Last => Err(DataError::file(name, "no columns")),
        LabelColumn::Index(i) if *i < width => Ok(*i),
        LabelColumn::Index(i) => Err(DataError::file(
            name,
            format!("label column index {i} (0-based) but rows have {width} columns"),
        )),
        LabelColumn::Name(label) => {
            let Some(header) = header else {
                return Err(DataError::file(
                    name,
                    format!("label column {label:?} asked by name, but the file has no header"),
                ));
            };
            header.iter().position(|h| h == label).ok_or_else(|| {
                DataError::file(
                    name,
                    format!("no column named {label:?} (columns: {})", header.join(", ")),
                )
            })
        }
    }
}

fn parse_number(name: &str, line: u64, column: Column, field: &str) -> DataResult<f32> {
    let bad = |why: &str| DataError::Field {
        file: name.to_string(),
        line,
        column: column.clone(),
        value: field.to_string(),
        why: why.to_string(),
    };
    let value: f32 = field.parse().map_err(|_| bad("is not a number"))?;
    if !value.is_finite() {
        return Err(bad("is not a finite number"));
    }
    Ok(value)
}

/// Turns label texts into class indices and the index -> name list.
fn map_labels(
    name: &str,
    column: &Column,
    raw: &[(String, u64)],
    kind: LabelKind,
) -> DataResult<(Vec<usize>, Vec<String>)> {
    let as_index: Vec<Option<usize>> = raw.iter().map(|(s, _)| s.parse().ok()).collect();
    let use_index = match kind {
        LabelKind::Index => true,
        LabelKind::Text => false,
        LabelKind::Auto => as_index.iter().all(Option::is_some),
    };
    if use_index {
        let mut labels = Vec::with_capacity(raw.len());
        for ((text, line), index) in raw.iter().zip(as_index) {
            labels.push(index.ok_or_else(|| DataError::Field {
                file: name.to_string(),
                line: *line,
                column: column.clone(),
                value: text.clone(),
                why: "is not a class index (a whole number, 0 or more)".to_string(),
            })?);
        }
        let classes = labels.iter().max().map_or(0, |m| m + 1);
        return Ok((labels, (0..classes).map(|c| c.to_string()).collect()));
    }
    let classes: Vec<String> = raw
        .iter()
        .map(|(s, _)| s.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let labels = raw
        .iter()
        .map(|(s, _)| classes.binary_search(s).expect("every label is in the set"))
        .collect();
    Ok((labels, classes))
}

fn csv_error(name: &str, e: csv::Error) -> DataError {
    let line = e.position().map(|p| p.line());
    let why = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        csv::ErrorKind::Utf8 { err, .. } => format!("not valid UTF-8 ({err})"),
        _ => e.to_string(),
    };
    match (line, e.into_kind()) {
        (_, csv::ErrorKind::Io(source)) => DataError::io(name, source),
        (Some(line), _) => DataError::Line {
            file: name.to_string(),
            line,
            why,
        },
        (None, _) => DataError::file(name, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_text_labels_by_name_and_keeps_the_mapping() {
        let text = "sepal,species,petal\n1.5,setosa,2\n3,virginica,4.25\n5,setosa,6\n";
        let opts = CsvOptions {
            label: LabelColumn::Name("species".into()),
            ..Default::default()
        };
        let t = read_csv_str("iris.csv", text, &opts).unwrap();
        assert_eq!(t.feature_names, vec!["sepal", "petal"]);
        assert_eq!(t.label_name, "species");
        assert_eq!(t.data.features, vec![1.5, 2.0, 3.0, 4.25, 5.0, 6.0]);
        assert_eq!(t.data.labels, vec![0, 1, 0]);
        assert_eq!(t.data.classes, vec!["setosa", "virginica"]);
        assert_eq!(t.class_index("virginica"), Some(1));
    }

    #[test]
    fn reads_integer_labels_without_header_by_index() {
        let opts = CsvOptions {
            has_header: false,
            label: LabelColumn::Index(0),
            ..Default::default()
        };
        let t = read_csv_str("n.csv", "2, 0.5, 1\n0, 1.5, -2\n", &opts).unwrap();
        assert_eq!(t.data.labels, vec![2, 0]);
        assert_eq!(t.data.classes, vec!["0", "1", "2"]);
        assert_eq!(t.data.item_shape, vec![2]);
        assert_eq!(t.feature_names, vec!["column 2", "column 3"]);
    }

    #[test]
    fn quoted_fields_and_a_byte_order_mark() {
        let text = "\u{feff}len,kind\n1,\"Iris, setosa\"\n2,other\n";
        let opts = CsvOptions {
            label: LabelColumn::Name("kind".into()),
            ..Default::default()
        };
        let t = read_csv_str("bom.csv", text, &opts).unwrap();
        assert_eq!(t.feature_names, vec!["len"]);
        assert_eq!(t.data.classes, vec!["Iris, setosa", "other"]);
    }

    #[test]
    fn index_labels_reject_text() {
        let opts = CsvOptions {
            label_kind: LabelKind::Index,
            ..Default::default()
        };
        let e = read_csv_str("d.csv", "x,y\n1,0\n2,cat\n", &opts).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"d.csv:3: column "y": "cat" is not a class index (a whole number, 0 or more)"#
        );
    }
}
