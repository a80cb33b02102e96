fn main() -> anyhow::Result<()> {
    let mut ebpf = aya::Ebpf::load(aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/leastpriv-ebpf")))?;
    let prog: &mut aya::programs::RawTracePoint = ebpf.program_mut("sys_enter").unwrap().try_into()?;
    prog.load()?;
    prog.attach("sys_enter")?;
    println!("ok");
    Ok(())
}
