//! Every plot kind renders to SVG that parses, PNG of the requested size that is not blank,
//! and text art within the requested width; plus each kind's own promises (panels, red
//! titles for wrong predictions, numbers in confusion cells).
//!
//! Set `FERROLAB_PLOT_OUT=<dir>` to also save each PNG and SVG there for a look.

use std::io::Cursor;

use ferrolab::plot::{
    AttentionMap, ConfusionMatrix, Curves, DecisionRegions, FeatureMaps, Heatmap, ImageGrid, LineChart, Plot,
};

fn curves() -> Curves {
    let epochs = 12;
    let decay = |scale: f64, floor: f64| -> Vec<f64> {
        (0..epochs)
            .map(|e| floor + scale * (-(e as f64) / 3.0).exp())
            .collect()
    };
    let acc = |top: f64| -> Vec<f64> {
        (0..epochs)
            .map(|e| top - 0.5 * (-(e as f64) / 2.5).exp())
            .collect()
    };
    Curves::new()
        .title("MNIST CNN")
        .add("train loss", &decay(2.0, 0.05))
        .add("val loss", &decay(1.8, 0.15))
        .add("train acc", &acc(0.99))
        .add("val acc", &acc(0.95))
}

/// A digit-like picture: a bright ring, so the image is clearly not blank.
fn ring(size: usize, shift: f64) -> Vec<f32> {
    let c = size as f64 / 2.0 + shift;
    (0..size * size)
        .map(|i| {
            let (r, col) = ((i / size) as f64, (i % size) as f64);
            let d = ((r - c).powi(2) + (col - c).powi(2)).sqrt();
            if (d - size as f64 / 3.5).abs() < 2.0 {
                1.0
            } else {
                0.0
            }
        })
        .collect()
}

fn images() -> ImageGrid {
    let mut grid = ImageGrid::new(28, 28).title("test digits");
    for i in 0..6 {
        let pred = if i == 4 { 1 } else { 7 };
        grid = grid.push_predicted(&ring(28, i as f64 - 3.0), 7, pred);
    }
    grid
}

fn feature_maps() -> FeatureMaps {
    let data: Vec<f32> = (0..16 * 12 * 12)
        .map(|i| {
            let (ch, r, c) = (i / 144, (i / 12) % 12, i % 12);
            ((r as f32 * 0.3 + ch as f32).sin() * (c as f32 * 0.2).cos()) * (ch + 1) as f32
        })
        .collect();
    FeatureMaps::new(12, 12, &data).title("conv1 feature maps")
}

fn attention() -> AttentionMap {
    let tokens = ["the", "cat", "sat", "on", "the", "mat"];
    let n = tokens.len();
    let mut w = vec![0.0f32; n * n];
    for r in 0..n {
        let row: Vec<f32> = (0..n).map(|c| (-((r as f32 - c as f32).abs())).exp()).collect();
        let sum: f32 = row.iter().sum();
        for c in 0..n {
            w[r * n + c] = row[c] / sum;
        }
    }
    AttentionMap::new(n, n, &w)
        .labels(&tokens, &tokens)
        .title("head 0")
}

fn confusion() -> ConfusionMatrix {
    let classes = ["cat", "dog", "bird", "frog"];
    let truth: Vec<usize> = (0..200).map(|i| i % 4).collect();
    let pred: Vec<usize> = truth
        .iter()
        .enumerate()
        .map(|(i, &t)| if i % 7 == 0 { (t + 1) % 4 } else { t })
        .collect();
    ConfusionMatrix::from_predictions(&classes, &truth, &pred)
}

fn line_chart() -> LineChart {
    let xs: Vec<f64> = (0..50).map(|i| i as f64 / 5.0).collect();
    let sin: Vec<f64> = xs.iter().map(|x| x.sin()).collect();
    let cos: Vec<f64> = xs.iter().map(|x| x.cos()).collect();
    let noisy: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, x)| x.sin() + ((i * 37 % 11) as f64 - 5.0) / 25.0)
        .collect();
    LineChart::new()
        .title("sin and cos")
        .x_label("x")
        .y_label("y")
        .line("sin", &xs, &sin)
        .line("cos", &xs, &cos)
        .scatter("samples", &xs, &noisy)
}

/// A power law `y = 3·x^-0.3` over five decades, with noisy samples: straight on log-log axes.
fn log_chart() -> LineChart {
    let xs: Vec<f64> = (0..=10).map(|i| 10f64.powf(1.0 + 0.5 * i as f64)).collect();
    let fit: Vec<f64> = xs.iter().map(|x| 3.0 * x.powf(-0.3)).collect();
    let noisy: Vec<f64> = fit
        .iter()
        .enumerate()
        .map(|(i, y)| y * (1.0 + ((i * 7 % 5) as f64 - 2.0) / 40.0))
        .collect();
    LineChart::new()
        .title("scaling")
        .x_label("parameters")
        .y_label("loss")
        .scatter("runs", &xs, &noisy)
        .line("fit", &xs, &fit)
        .log_x()
        .log_y()
}

/// A spectrogram-like map: 20 time frames × 30 frequency bins with a rising ridge.
fn heatmap() -> Heatmap {
    let (frames, bins) = (20, 30);
    let values: Vec<f64> = (0..frames * bins)
        .map(|i| {
            let (f, b) = (i / bins, i % bins);
            let ridge = 5.0 + f as f64;
            (-((b as f64 - ridge).powi(2)) / 8.0).exp()
        })
        .collect();
    Heatmap::new(frames, bins, &values)
        .x_range(0.0, 4000.0)
        .y_range(0.0, 0.25)
        .x_label("frequency (Hz)")
        .y_label("time (s)")
        .transpose()
        .title("spectrogram")
}

/// Three classes split by angle around the origin, with a few points of each.
fn regions() -> DecisionRegions {
    let view = DecisionRegions::new((-2.0, 2.0), (-1.5, 1.5), 40, 30);
    let class_of = |x: f64, y: f64| {
        (((y.atan2(x) + std::f64::consts::PI) / (2.0 * std::f64::consts::PI) * 3.0) as usize).min(2)
    };
    let probs: Vec<Vec<f64>> = view
        .grid_points()
        .chunks(2)
        .map(|p| {
            let c = class_of(p[0] as f64, p[1] as f64);
            let sure = (f64::from(p[0]).hypot(f64::from(p[1])) / 2.0).min(1.0);
            (0..3)
                .map(|k| {
                    if k == c {
                        (1.0 + 2.0 * sure) / 3.0
                    } else {
                        (1.0 - sure) / 3.0
                    }
                })
                .collect()
        })
        .collect();
    let xy: Vec<f64> = (0..24)
        .flat_map(|i| {
            let a = i as f64 * 0.7;
            [1.2 * a.cos(), 1.0 * a.sin()]
        })
        .collect();
    let labels: Vec<usize> = xy.chunks(2).map(|p| class_of(p[0], p[1])).collect();
    view.probabilities(&probs)
        .points(&xy, &labels)
        .class_names(&["left", "top", "bottom"])
        .title("decision regions")
        .x_label("x1")
        .y_label("x2")
}

fn all() -> Vec<(&'static str, Box<dyn Plot>)> {
    vec![
        ("curves", Box::new(curves())),
        ("images", Box::new(images())),
        ("feature_maps", Box::new(feature_maps())),
        ("attention", Box::new(attention())),
        ("confusion", Box::new(confusion())),
        ("line", Box::new(line_chart())),
        ("log_line", Box::new(log_chart())),
        ("heatmap", Box::new(heatmap())),
        ("regions", Box::new(regions())),
    ]
}

/// Parses the SVG and returns its text nodes as (text, fill) pairs.
fn svg_texts(svg: &str) -> Vec<(String, String)> {
    let doc = roxmltree::Document::parse(svg).expect("SVG must be well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            // The SVG backend puts the text on its own line inside the element.
            let text = n.text().unwrap_or("").trim().to_string();
            (text, n.attribute("fill").unwrap_or("").to_string())
        })
        .collect()
}

fn texts_only(svg: &str) -> Vec<String> {
    svg_texts(svg).into_iter().map(|t| t.0).collect()
}

/// Decodes a PNG into (width, height, RGB pixels).
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    let mut reader = png::Decoder::new(Cursor::new(bytes))
        .read_info()
        .expect("PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("PNG size")];
    let info = reader.next_frame(&mut buf).expect("PNG data");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = buf[..info.buffer_size()]
        .chunks(3)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    (info.width, info.height, pixels)
}

fn save(name: &str, plot: &dyn Plot) {
    if let Some(dir) = std::env::var_os("FERROLAB_PLOT_OUT") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (w, h) = plot.size();
        std::fs::write(dir.join(format!("{name}.png")), plot.png(w, h)).unwrap();
        std::fs::write(dir.join(format!("{name}.svg")), plot.svg(w, h)).unwrap();
        std::fs::write(dir.join(format!("{name}.txt")), plot.text(80)).unwrap();
    }
}

#[test]
fn plot_every_kind_renders_svg_that_parses() {
    for (name, plot) in all() {
        let svg = plot.svg(500, 360);
        assert!(!svg_texts(&svg).is_empty(), "{name}: SVG has no text");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        assert_eq!(doc.root_element().attribute("width"), Some("500"), "{name}");
        assert_eq!(doc.root_element().attribute("height"), Some("360"), "{name}");
        save(name, plot.as_ref());
    }
}

#[test]
fn plot_every_kind_renders_png_of_requested_size_and_not_blank() {
    for (name, plot) in all() {
        for (w, h) in [(320, 240), (800, 500)] {
            let (pw, ph, pixels) = decode_png(&plot.png(w, h));
            assert_eq!((pw, ph), (w, h), "{name}");
            let ink = pixels.iter().filter(|p| **p != [255, 255, 255]).count();
            assert!(
                ink > pixels.len() / 100,
                "{name} at {w}x{h}: only {ink} non-white pixels"
            );
        }
    }
}

#[test]
fn plot_every_kind_renders_text_within_width() {
    for (name, plot) in all() {
        for width in [12, 24, 40, 80, 120] {
            let text = plot.text(width);
            assert!(
                text.lines().count() >= 3,
                "{name} at {width}: too few lines:\n{text}"
            );
            for line in text.lines() {
                assert!(
                    line.chars().count() <= width,
                    "{name} at width {width}: line of {} chars: {line:?}",
                    line.chars().count()
                );
            }
            assert!(text.chars().any(|c| !c.is_whitespace()), "{name}: blank text");
        }
    }
}

#[test]
fn plot_curves_split_loss_and_accuracy_panels() {
    let both = curves();
    let panels = both.panels();
    assert_eq!(panels.len(), 2);
    assert_eq!(panels[0].title, "loss");
    assert_eq!(panels[1].title, "accuracy");
    assert_eq!(panels[0].series.len(), 2);
    assert!(panels[0].series[1].dashed, "val loss draws dashed");
    // Epochs count from 1.
    assert_eq!(panels[0].series[0].points[0].0, 1.0);

    let only_loss = Curves::new().add("loss", &[1.0, 0.5]);
    assert_eq!(only_loss.panels().len(), 1);

    let texts = texts_only(&both.svg(900, 380));
    for label in ["loss", "accuracy", "train loss", "val acc", "MNIST CNN"] {
        assert!(texts.iter().any(|t| t == label), "missing {label:?} in {texts:?}");
    }
    let art = both.text(80);
    assert!(art.contains("accuracy") && art.contains("1 train loss"), "{art}");
    assert!(
        art.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "braille lines:\n{art}"
    );
}

#[test]
fn plot_curves_push_appends_per_epoch() {
    let mut c = Curves::new();
    c.push("loss", 1.0);
    c.push("acc", 0.5);
    c.push("loss", 0.7);
    assert_eq!(
        c.series,
        vec![("loss".into(), vec![1.0, 0.7]), ("acc".into(), vec![0.5])]
    );
}

#[test]
fn plot_image_grid_titles_wrong_predictions_in_red() {
    let grid = images();
    let texts = svg_texts(&grid.svg(640, 640));
    let wrong: Vec<&(String, String)> = texts.iter().filter(|t| t.0 == "7 (pred 1)").collect();
    assert_eq!(wrong.len(), 1);
    assert_eq!(wrong[0].1, "#C80000");
    let right = texts.iter().find(|t| t.0 == "7 (pred 7)").expect("a right title");
    assert_eq!(right.1, "#000000");

    // In the PNG, red text appears only when a prediction is wrong.
    let reddish = |g: &ImageGrid| {
        let (_, _, px) = decode_png(&g.png(400, 400));
        px.iter().filter(|p| p[0] > 150 && p[1] < 90 && p[2] < 90).count()
    };
    assert!(reddish(&grid) > 10);
    let all_right = ImageGrid::new(28, 28).push_predicted(&ring(28, 0.0), 3, 3);
    assert_eq!(reddish(&all_right), 0);

    let art = grid.text(80);
    assert!(art.contains("✗7 (pred"), "{art}");
    assert!(art.contains('█'), "bright pixels shade full:\n{art}");
}

#[test]
fn plot_image_grid_from_batch_pairs_labels_and_predictions() {
    let batch: Vec<f32> = (0..3).flat_map(|i| ring(8, i as f64 - 1.0)).collect();
    let grid = ImageGrid::from_batch(8, 8, &batch, &[1, 2, 3], &[1, 0, 3]);
    assert_eq!(grid.len(), 3);
    assert_eq!(grid.wrong(), [false, true, false]);
    let unlabelled = ImageGrid::from_batch(8, 8, &batch, &[1, 2, 3], &[]);
    assert_eq!(unlabelled.titles(), ["1", "2", "3"]);
}

#[test]
fn plot_feature_maps_one_tile_per_channel() {
    let maps = feature_maps();
    assert_eq!(maps.len(), 16);
    let texts = texts_only(&maps.svg(640, 640));
    for ch in ["0", "7", "15"] {
        assert!(texts.iter().any(|t| t == ch), "channel {ch} titled: {texts:?}");
    }
}

#[test]
fn plot_attention_shows_token_labels_and_weights() {
    let map = attention();
    let texts = texts_only(&map.svg(560, 520));
    for t in ["cat", "mat", "key", "query", "head 0"] {
        assert!(texts.iter().any(|x| x == t), "missing {t:?}");
    }
    assert!(
        texts.iter().any(|t| t.starts_with("0.") && t.len() == 4),
        "weights in cells"
    );
    let art = map.text(60);
    assert!(art.contains("5=mat"), "{art}");
}

#[test]
fn plot_confusion_matrix_numbers_in_cells_and_aligned_table() {
    let cm = confusion();
    assert_eq!(cm.counts.iter().sum::<u64>(), 200);
    let n = cm.classes.len();
    let texts = texts_only(&cm.svg(560, 520));
    for count in &cm.counts {
        assert!(
            texts.iter().any(|t| *t == count.to_string()),
            "count {count} drawn"
        );
    }
    for class in ["cat", "dog", "bird", "frog", "predicted", "true"] {
        assert!(texts.iter().any(|t| t == class), "missing {class:?}");
    }

    let art = cm.text(80);
    let rows: Vec<&str> = art.lines().skip(2).collect();
    assert_eq!(rows.len(), n, "{art}");
    // Right-aligned columns: every row is as long as the header, numbers end together.
    let len = art.lines().nth(1).unwrap().chars().count();
    assert!(rows.iter().all(|r| r.chars().count() == len), "{art}");
    let cat_row: Vec<&str> = rows[0].split_whitespace().collect();
    assert_eq!(cat_row[0], "cat");
    assert_eq!(cat_row[1], cm.count(0, 0).to_string());

    // Too narrow for names: indices and a key instead.
    let narrow = cm.text(22);
    assert!(narrow.contains("0=cat"), "{narrow}");
}

#[test]
fn plot_line_chart_legend_and_axes() {
    let chart = line_chart();
    let texts = texts_only(&chart.svg(640, 400));
    for t in ["sin and cos", "sin", "cos", "samples", "x", "y"] {
        assert!(texts.iter().any(|x| x == t), "missing {t:?} in {texts:?}");
    }
    let art = chart.text(60);
    assert!(art.contains("1 sin") && art.contains("3 samples"), "{art}");
}

#[test]
fn plot_handles_empty_and_degenerate_data() {
    let empty: Vec<Box<dyn Plot>> = vec![
        Box::new(LineChart::new()),
        Box::new(Curves::new()),
        Box::new(LineChart::new().line_y("flat", &[2.0, 2.0, f64::NAN])),
        Box::new(ConfusionMatrix::new(&["a"], &[])),
        Box::new(AttentionMap::new(1, 1, &[0.0f32])),
        Box::new(ImageGrid::new(4, 4)),
        Box::new(LineChart::new().line_y("no positive y", &[0.0, -1.0]).log_y()),
        Box::new(LineChart::new().line("one point", &[5.0], &[7.0]).log_x().log_y()),
        Box::new(Heatmap::new(0, 0, &[0.0f32])),
        Box::new(DecisionRegions::new((0.0, 0.0), (1.0, 1.0), 0, 0)),
    ];
    for plot in empty {
        svg_texts(&plot.svg(200, 150));
        assert_eq!(decode_png(&plot.png(200, 150)).0, 200);
        assert!(plot.text(30).lines().all(|l| l.chars().count() <= 30));
    }
}

#[test]
fn plot_inputs_take_f32_as_well_as_f64() {
    let loss32 = [0.9f32, 0.5, 0.25];
    let mut c = Curves::new().add("loss", &loss32);
    c.push("loss", 0.125f32);
    assert_eq!(c.series[0].1, vec![0.9f32 as f64, 0.5, 0.25, 0.125]);
    let chart = LineChart::new().line("a", &[0.0f32, 1.0], &[2.0f64, 3.0]);
    assert_eq!(chart.series[0].points, vec![(0.0, 2.0), (1.0, 3.0)]);
}

#[test]
fn plot_image_grid_svg_stays_small_for_a_batch_of_digits() {
    // 64 digit-like pictures: only strokes become SVG shapes, not every pixel.
    let batch: Vec<f32> = (0..64).flat_map(|i| ring(28, (i % 5) as f64 - 2.0)).collect();
    let labels: Vec<usize> = (0..64).map(|i| i % 10).collect();
    let svg = ImageGrid::from_batch(28, 28, &batch, &labels, &labels).svg(640, 640);
    let naive = 64 * 28 * 28 * 80; // one ~80-byte <rect> per pixel
    assert!(svg.len() < naive / 5, "SVG of {} bytes", svg.len());
    svg_texts(&svg);
}

#[test]
fn plot_log_axes_label_round_values_and_skip_what_they_cannot_show() {
    let chart = log_chart();
    let texts = texts_only(&chart.svg(640, 400));
    // Five decades of x: labels at the powers of ten, written compactly.
    for t in [
        "100",
        "1000",
        "10000",
        "1e5",
        "1e6",
        "0.1",
        "1",
        "parameters",
        "loss",
    ] {
        assert!(texts.iter().any(|x| x == t), "missing {t:?} in {texts:?}");
    }
    // A y range inside one decade: 1-2-5 multiples still label it.
    let narrow = LineChart::new().line("l", &[1.0, 2.0], &[0.15, 0.9]).log_y();
    let texts = texts_only(&narrow.svg(400, 300));
    assert!(
        texts.iter().any(|t| t == "0.2") && texts.iter().any(|t| t == "0.5"),
        "{texts:?}"
    );

    let art = chart.text(60);
    assert!(
        art.contains("loss (log)") && art.contains("parameters (log)"),
        "{art}"
    );
    assert!(art.contains("1 runs") && art.contains("2 fit"), "{art}");

    // A straight line on log-log axes: the fit's braille dots fall on one diagonal.
    let linear = LineChart::new()
        .line("fit", &[10.0, 1e5], &[1.0, 1e-4])
        .log_x()
        .log_y();
    let art = linear.text(40);
    let rows: Vec<&str> = art
        .lines()
        .filter(|l| l.contains('┤') || l.contains('│'))
        .collect();
    let first_dot = |row: &str| row.chars().position(|c| ('\u{2801}'..='\u{28ff}').contains(&c));
    let columns: Vec<usize> = rows.iter().filter_map(|r| first_dot(r)).collect();
    assert!(
        columns.windows(2).all(|w| w[0] < w[1]),
        "a falling diagonal:\n{art}"
    );

    // Points at x ≤ 0 or y ≤ 0 are skipped on a log axis, not drawn at -infinity.
    let mixed = LineChart::new()
        .scatter("s", &[-1.0, 0.0, 10.0, 100.0], &[1.0, 1.0, 2.0, 4.0])
        .log_x();
    let texts = texts_only(&mixed.svg(400, 300));
    assert!(!texts.iter().any(|t| t.starts_with('-')), "{texts:?}");
    assert!(
        texts.iter().any(|t| t == "10") && texts.iter().any(|t| t == "100"),
        "{texts:?}"
    );
}

#[test]
fn plot_heatmap_puts_row_zero_at_the_bottom_and_transposes() {
    // Values grow with the row: the top text row is the brightest.
    let rows = 6;
    let values: Vec<f64> = (0..rows * 4).map(|i| (i / 4) as f64).collect();
    let art = Heatmap::new(rows, 4, &values).text(30);
    let plot_rows: Vec<&str> = art
        .lines()
        .filter(|l| l.contains('┤') || l.contains('│'))
        .collect();
    assert!(plot_rows.first().unwrap().contains('█'), "{art}");
    assert!(!plot_rows.last().unwrap().contains('█'), "{art}");
    assert!(art.contains("scale: ' '=0  █=5"), "{art}");

    let map = Heatmap::new(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .x_label("a")
        .y_label("b");
    let t = map.clone().transpose();
    assert_eq!((t.rows, t.cols), (3, 2));
    assert_eq!(t.values, vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
    assert_eq!((t.x_label.as_str(), t.y_label.as_str()), ("b", "a"));
    assert_eq!(t.transpose(), map);

    let texts = texts_only(&heatmap().svg(640, 400));
    for label in ["spectrogram", "time (s)", "frequency (Hz)", "4000"] {
        assert!(texts.iter().any(|t| t == label), "missing {label:?} in {texts:?}");
    }
}

#[test]
fn plot_decision_regions_grid_points_classes_and_legend() {
    let view = DecisionRegions::new((0.0, 4.0), (0.0, 2.0), 4, 2);
    assert_eq!(view.cells(), 8);
    // Cell centres, row by row from the bottom.
    assert_eq!(
        view.grid_points(),
        vec![0.5, 0.5, 1.5, 0.5, 2.5, 0.5, 3.5, 0.5, 0.5, 1.5, 1.5, 1.5, 2.5, 1.5, 3.5, 1.5]
    );

    let plot = regions();
    let texts = texts_only(&plot.svg(640, 480));
    for label in ["left", "top", "bottom", "decision regions", "x1", "x2"] {
        assert!(texts.iter().any(|t| t == label), "missing {label:?} in {texts:?}");
    }
    let art = plot.text(60);
    assert!(
        art.contains("o=left") && art.contains("x=top") && art.contains("+=bottom"),
        "{art}"
    );
    assert!(art.contains('░'), "class 1's region is shaded:\n{art}");

    // Hard predictions: left half class 0, right half class 1; the text art shows the split.
    let split = DecisionRegions::new((-1.0, 1.0), (-1.0, 1.0), 10, 10);
    let classes: Vec<usize> = split
        .grid_points()
        .chunks(2)
        .map(|p| (p[0] > 0.0) as usize)
        .collect();
    let art = split.predictions(&classes).text(40);
    let row = art.lines().find(|l| l.contains('┤')).unwrap();
    let cells: String = row.split('┤').nth(1).unwrap().to_string();
    let n = cells.chars().count();
    assert!(cells.chars().take(n / 2 - 1).all(|c| c == ' '), "{art}");
    assert!(cells.chars().skip(n / 2 + 1).all(|c| c == '░'), "{art}");

    // Sureness shades the regions: a sure cell is stronger than an unsure one.
    let sure = DecisionRegions::new((0.0, 1.0), (0.0, 1.0), 1, 1).probabilities(&[vec![0.0, 1.0]]);
    let unsure = DecisionRegions::new((0.0, 1.0), (0.0, 1.0), 1, 1).probabilities(&[vec![0.45, 0.55]]);
    let ink = |p: &DecisionRegions| {
        let (_, _, px) = decode_png(&p.png(200, 200));
        px.iter()
            .map(|c| 765 - (c[0] as u32 + c[1] as u32 + c[2] as u32))
            .sum::<u32>()
    };
    assert!(ink(&sure) > ink(&unsure));
}
