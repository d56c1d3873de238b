//! The display path: bundles of every plot, the marker line's round trip, many displays
//! per cell, updates by id, throttling, and evcxr's last-value format.

use std::time::Duration;

use ferrolab::display::{
    capture, display, evcxr_print, mime, parse_marker, split_marker, DisplayMessage, Displayable, Html,
    MimeBundle, MARKER_PREFIX,
};
use ferrolab::plot::{AttentionMap, ConfusionMatrix, Curves, FeatureMaps, ImageGrid, LineChart, Plot};

fn small_curves() -> Curves {
    Curves::new()
        .add("train loss", &[1.0, 0.6, 0.4])
        .add("train acc", &[0.5, 0.7, 0.8])
        .with_size(320, 200)
}

/// The marker lines in captured output, parsed.
fn markers(out: &str) -> Vec<DisplayMessage> {
    out.lines()
        .map(|l| parse_marker(l).unwrap_or_else(|| panic!("not a marker: {l:.80}")))
        .collect()
}

#[test]
fn display_every_plot_bundles_svg_png_and_text() {
    let plots: Vec<Box<dyn Fn() -> MimeBundle>> = vec![
        Box::new(|| small_curves().mime_bundle()),
        Box::new(|| ImageGrid::new(2, 2).push(&[0.0f32, 1.0, 1.0, 0.0]).mime_bundle()),
        Box::new(|| FeatureMaps::new(2, 2, &[0.0f32, 1.0, 2.0, 3.0]).mime_bundle()),
        Box::new(|| AttentionMap::new(2, 2, &[0.5f32, 0.5, 0.1, 0.9]).mime_bundle()),
        Box::new(|| ConfusionMatrix::new(&["a", "b"], &[3, 1, 0, 4]).mime_bundle()),
        Box::new(|| LineChart::new().line_y("y", &[1.0, 2.0]).mime_bundle()),
    ];
    for bundle in plots.iter().map(|f| f()) {
        assert_eq!(bundle.mimes(), [mime::SVG, mime::PNG, mime::PLAIN]);
        assert!(bundle.get(mime::SVG).unwrap().starts_with("<svg"));
        let png = bundle.png_bytes().expect("base64 PNG");
        assert_eq!(&png[1..4], b"PNG");
        assert!(!bundle.get(mime::PLAIN).unwrap().trim().is_empty());
    }
}

#[test]
fn display_marker_round_trips_the_bundle() {
    let curves = small_curves();
    let (handle, out) = capture(|| display(&curves));
    assert!(out.starts_with(MARKER_PREFIX));
    assert!(out.ends_with('\n'));
    assert_eq!(out.matches('\n').count(), 1, "a marker is exactly one line");

    let msg = parse_marker(&out).expect("marker parses");
    assert_eq!(msg.id, handle.id());
    assert!(!msg.update);
    assert_eq!(msg.data, curves.mime_bundle());
    // The text art keeps its newlines inside the JSON.
    assert!(msg.data.get(mime::PLAIN).unwrap().contains('\n'));
}

#[test]
fn display_many_in_one_cell_each_get_a_line_and_id() {
    let ((), out) = capture(|| {
        for i in 0..5 {
            display(&Html(format!("<p>{i}</p>")));
            print!(""); // ordinary output in between must not matter
        }
    });
    let msgs = markers(&out);
    assert_eq!(msgs.len(), 5);
    let mut ids: Vec<&str> = msgs.iter().map(|m| m.id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 5, "ids differ");
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m.data.get(mime::HTML), Some(format!("<p>{i}</p>").as_str()));
    }
}

#[test]
fn display_updates_carry_the_same_id() {
    let mut curves = Curves::new().with_size(200, 150);
    let ((), out) = capture(|| {
        let mut handle = display(&curves);
        for epoch in 0..3 {
            curves.push("loss", 1.0 / (epoch + 1) as f64);
            handle.update(&curves);
        }
    });
    let msgs = markers(&out);
    assert_eq!(msgs.len(), 4);
    assert!(msgs.iter().all(|m| m.id == msgs[0].id));
    assert_eq!(
        msgs.iter().map(|m| m.update).collect::<Vec<_>>(),
        [false, true, true, true]
    );
    assert_ne!(msgs[1].data, msgs[3].data, "updates carry new content");
}

#[test]
fn display_throttle_skips_then_finish_forces_the_last() {
    let html = |s: &str| Html(s.to_string());
    let (mut handle, _) = capture(|| display(&html("start")));
    let (shown, out) = capture(|| {
        [
            handle.update_throttled(&html("a"), Duration::from_secs(3600)),
            handle.update_throttled(&html("b"), Duration::from_secs(3600)),
        ]
    });
    assert_eq!(shown, [false, false]);
    assert!(out.is_empty(), "skipped updates write nothing");

    let (forced, out) = capture(|| handle.finish(&html("final")));
    assert!(forced);
    let msg = parse_marker(&out).unwrap();
    assert!(msg.update);
    assert_eq!(msg.data.get(mime::HTML), Some("final"));

    // Nothing skipped since: finish has nothing to do.
    let (again, out) = capture(|| handle.finish(&html("final")));
    assert!(!again && out.is_empty());

    let (shown, out) = capture(|| handle.update_throttled(&html("c"), Duration::ZERO));
    assert!(shown && parse_marker(&out).is_some());
}

#[test]
fn display_parse_marker_rejects_other_lines() {
    assert_eq!(parse_marker("epoch 1 loss 0.3"), None);
    assert_eq!(parse_marker("FERROLAB_DISPLAY not json"), None);
    assert_eq!(parse_marker("FERROLAB_DISPLAY {\"id\":\"x\"}"), None);
    assert_eq!(parse_marker(" FERROLAB_DISPLAY {}"), None);

    let msg = DisplayMessage {
        id: "x".into(),
        update: true,
        data: MimeBundle::new().with(mime::PLAIN, "a\r\nb"),
    };
    let line = msg.to_line();
    assert_eq!(parse_marker(line.trim_end_matches('\n')), Some(msg.clone()));
    assert_eq!(parse_marker(&line.replace('\n', "\r\n")), Some(msg.clone()));
    // Unknown fields are ignored, for later versions.
    let extended = line.replacen("{", "{\"v\":2,", 1);
    assert_eq!(parse_marker(&extended), Some(msg.clone()));
    // A partial line printed before the marker is split off.
    assert_eq!(split_marker(&format!("50%{line}")), Some(("50%", msg)));
}

#[test]
fn display_bundle_keeps_mime_order_through_json() {
    let bundle = MimeBundle::new()
        .with(mime::PLAIN, "text")
        .with(mime::HTML, "<b>x</b>")
        .with("application/json", "{}");
    let json = serde_json::to_string(&bundle).unwrap();
    assert_eq!(
        json,
        r#"{"text/plain":"text","text/html":"<b>x</b>","application/json":"{}"}"#
    );
    let back: MimeBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, bundle);
    // Non-string content (Jupyter's JSON mime types) survives as JSON text.
    let obj: MimeBundle = serde_json::from_str(r#"{"application/json":{"a":1}}"#).unwrap();
    assert_eq!(obj.get("application/json"), Some(r#"{"a":1}"#));
}

#[test]
fn display_evcxr_format_has_one_block_per_mime() {
    let grid = ImageGrid::new(2, 2)
        .push(&[1.0f32, 0.0, 0.0, 1.0])
        .with_size(64, 64);
    let ((), out) = capture(|| grid.evcxr_display());
    let bundle = grid.mime_bundle();
    let mut expected = String::new();
    for (m, content) in bundle.iter() {
        expected.push_str(&format!(
            "EVCXR_BEGIN_CONTENT {m}\n{content}\nEVCXR_END_CONTENT\n"
        ));
    }
    assert_eq!(out, expected);
    assert_eq!(out.matches("EVCXR_BEGIN_CONTENT").count(), 3);
    assert!(out.starts_with("EVCXR_BEGIN_CONTENT image/svg+xml\n<svg"));

    let ((), out) = capture(|| evcxr_print(&MimeBundle::new().with(mime::HTML, "<i>x</i>")));
    assert_eq!(
        out,
        "EVCXR_BEGIN_CONTENT text/html\n<i>x</i>\nEVCXR_END_CONTENT\n"
    );
}

#[test]
fn display_capture_nests_and_restores() {
    let (inner, outer) = capture(|| {
        display(&Html("outer".into()));
        capture(|| display(&Html("inner".into()))).1
    });
    assert_eq!(markers(&inner)[0].data.get(mime::HTML), Some("inner"));
    let outer = markers(&outer);
    assert_eq!(outer.len(), 1, "the inner display went to the inner capture only");
    assert_eq!(outer[0].data.get(mime::HTML), Some("outer"));
}

#[test]
fn display_plot_sizes_follow_with_size() {
    let chart = LineChart::new().line_y("y", &[1.0, 3.0]).with_size(333, 222);
    assert_eq!(chart.size(), (333, 222));
    let svg = chart.mime_bundle().get(mime::SVG).unwrap().to_string();
    assert!(svg.contains(r#"width="333""#) && svg.contains(r#"height="222""#));
}
