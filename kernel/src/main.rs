//! The `ferrolab` binary.
fn main() {
    println!("ferrolab {}", env!("CARGO_PKG_VERSION"));
}
