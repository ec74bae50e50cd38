//! Shared helpers: the real dumps and their oracles.

use std::io::Read;

/// The real kernel's `/proc/vmcore` (Linux 6.12, testdata/real/kdump).
pub fn proc_vmcore() -> vmcore::Dump {
    let path =
        real_data::path("kdump/proc-vmcore.elf").expect("testdata/real/kdump/proc-vmcore.elf");
    vmcore::Dump::open(path).expect("open proc-vmcore.elf")
}

/// QEMU's ELF dump of step 06 (testdata/real/qemu-dumps).
pub fn qemu_dump_06() -> vmcore::Dump {
    let path = real_data::path("qemu-dumps/dump-06-cpu3-online.elf")
        .expect("testdata/real/qemu-dumps/dump-06-cpu3-online.elf");
    vmcore::Dump::open(path).expect("open dump-06")
}

/// `(address, type, name)` of every line of the kernel's System.map (link-time addresses).
pub fn system_map() -> Vec<(u64, char, String)> {
    let path = real_data::root().join("oracles/System.map-6.12.111+deb12-amd64.zst");
    let mut text = String::new();
    zstd::stream::read::Decoder::new(std::fs::File::open(path).expect("System.map"))
        .expect("zstd")
        .read_to_string(&mut text)
        .expect("read System.map");
    text.lines()
        .map(|l| {
            let mut f = l.split_whitespace();
            let addr = u64::from_str_radix(f.next().expect("addr"), 16).expect("hex");
            let kind = f.next().expect("type").chars().next().expect("type char");
            (addr, kind, f.next().expect("name").to_string())
        })
        .collect()
}

/// A drgn oracle (testdata/real/oracles/drgn-crash-*.json).
pub fn drgn_oracle(name: &str) -> serde_json::Value {
    let path = real_data::root().join(format!("oracles/drgn-crash-{name}.json"));
    serde_json::from_slice(&std::fs::read(path).expect("oracle")).expect("json")
}

/// A real dump by its path under testdata/real.
pub fn real_dump(rel: &str) -> vmcore::Dump {
    let path = real_data::path(rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
    vmcore::Dump::open(path).unwrap_or_else(|e| panic!("open {rel}: {e}"))
}

/// makedumpfile's `-c -d 31` twin of proc-vmcore (kdump-compressed, user and free pages excluded).
pub fn makedumpfile_c() -> vmcore::Dump {
    real_dump("kdump/makedumpfile-c-d31.kdump")
}

/// makedumpfile's `-F -c -d 31` twin of proc-vmcore (flattened).
pub fn makedumpfile_flat() -> vmcore::Dump {
    real_dump("kdump/makedumpfile-F-c-d31.flat")
}

/// `(symbol, offset — or the pc when unnamed —, interrupted)` of a frame: what drgn's oracles
/// and our backtraces are compared by.
pub type FrameKey = (Option<String>, u64, bool);

/// The frames of a drgn oracle's `frames` array as [`FrameKey`]s.
pub fn oracle_frames(frames: &serde_json::Value) -> Vec<FrameKey> {
    frames
        .as_array()
        .expect("frames")
        .iter()
        .map(|f| {
            let symbol = f["symbol"].as_str().map(str::to_string);
            let off = match symbol {
                Some(_) => f["offset"].as_u64().expect("offset"),
                None => f["pc"].as_u64().expect("pc"),
            };
            (
                symbol,
                off,
                f["interrupted"].as_bool().expect("interrupted"),
            )
        })
        .collect()
}

/// Our frames as [`FrameKey`]s.
pub fn frame_keys(frames: &[kernel_introspect::unwind::Frame]) -> Vec<FrameKey> {
    frames
        .iter()
        .map(|f| match &f.symbol {
            Some(s) => (Some(s.name.clone()), s.offset, f.interrupted()),
            None => (None, f.pc, f.interrupted()),
        })
        .collect()
}
