//! Builds the kernel programs (recorder-ebpf) with the nightly toolchain and bpf-linker, so that
//! a plain `cargo build` of the recorder is the one way to build everything.
fn main() -> anyhow::Result<()> {
    let root_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../recorder-ebpf");
    let package = aya_build::Package {
        name: "recorder-ebpf",
        root_dir,
        ..Default::default()
    };
    aya_build::build_ebpf([package], aya_build::Toolchain::default())
}
