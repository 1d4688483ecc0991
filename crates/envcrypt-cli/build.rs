//! Link flags for the `envcrypt` binary: relative relocations packed (DT_RELR), so that a
//! short command does not spend its start-up reading a megabyte of relocation records.

fn main() {
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.contains("linux-gnu") {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
