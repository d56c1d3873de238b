//! `ferrolab install --prefix P --no-warmup` writes a kernelspec Jupyter can list.
//!
//! Fast (no library build). The `jupyter kernelspec list` check runs only when a
//! `jupyter` command is found (PATH, or JUPYTER set to one); otherwise it says so.

use std::process::Command;

#[test]
fn install_writes_a_listable_kernelspec() {
    let prefix = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ferrolab"))
        .args(["install", "--no-warmup", "--prefix"])
        .arg(prefix.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let spec_dir = prefix.path().join("share/jupyter/kernels/ferrolab");
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(spec_dir.join("kernel.json")).unwrap()).unwrap();
    assert_eq!(spec["display_name"], "Rust (ferrolab)");
    assert_eq!(spec["language"], "rust");
    assert_eq!(spec["interrupt_mode"], "message");
    let argv: Vec<&str> = spec["argv"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(std::path::Path::new(argv[0]).is_absolute(), "{argv:?}");
    assert_eq!(&argv[1..], ["kernel", "-f", "{connection_file}"]);
    for logo in ["logo-32x32.png", "logo-64x64.png"] {
        let bytes = std::fs::read(spec_dir.join(logo)).unwrap();
        assert_eq!(&bytes[1..4], b"PNG", "{logo}");
    }

    let jupyter = std::env::var("JUPYTER").unwrap_or_else(|_| "jupyter".into());
    match Command::new(&jupyter)
        .args(["kernelspec", "list"])
        .env("JUPYTER_PATH", prefix.path().join("share/jupyter"))
        .output()
    {
        Ok(list) => {
            let text = String::from_utf8_lossy(&list.stdout);
            assert!(
                text.contains("ferrolab") && text.contains(&*spec_dir.to_string_lossy()),
                "{text}"
            );
        }
        Err(_) => eprintln!("no `{jupyter}` command: skipped the kernelspec list check"),
    }
}
