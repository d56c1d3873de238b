//! Embeds the chapters (`../tutorials/ch*.md`) so `ferrolab tutorial` works from any
//! directory, and compiles `proto/inference.proto` (the serving protocol's gRPC service) with
//! protox, a protobuf compiler in Rust, so no system `protoc` is needed.

use std::path::Path;

fn main() {
    chapters();
    grpc();
}

fn grpc() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let proto = Path::new(&manifest).join("proto/inference.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let files = protox::compile([&proto], [proto.parent().unwrap()]).expect("proto/inference.proto compiles");
    tonic_prost_build::configure()
        .build_client(false)
        .compile_fds(files)
        .expect("the gRPC service generates");
}

fn chapters() {
    // Read when the script runs, not baked in when it was compiled: cargo reuses a compiled
    // build script across checkouts of the workspace at other paths (CI's clone shares the
    // target dir), and a baked-in path would embed another checkout's chapters, or none.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("../tutorials");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut chapters: Vec<(String, String)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().into_string().ok()?;
                    let slug = name.strip_suffix(".md")?;
                    (slug.starts_with("ch") && !slug.contains('.'))
                        .then(|| (slug.to_string(), e.path().display().to_string()))
                })
                .collect()
        })
        .unwrap_or_default();
    chapters.sort();
    let mut out = String::from("&[\n");
    for (slug, path) in &chapters {
        println!("cargo:rerun-if-changed={path}");
        out.push_str(&format!("    ({slug:?}, include_str!({path:?})),\n"));
    }
    out.push(']');
    let target = Path::new(&std::env::var("OUT_DIR").unwrap()).join("chapters.rs");
    std::fs::write(target, out).unwrap();
}
