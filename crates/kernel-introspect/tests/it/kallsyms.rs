//! kallsyms decoded from the dump alone against the kernel's System.map (from Debian's debug
//! package of this exact build) shifted by the dump's KERNELOFFSET.

use kernel_introspect::mem::{KernelMemory, MemoryMap};
use kernel_introspect::{AddressEncoding, Kallsyms, Kernel};

use crate::support;

#[test]
fn every_text_symbol_of_system_map_resolves_both_ways() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let syms = kernel.symbols().expect("kallsyms");
    let info = dump.vmcoreinfo().expect("vmcoreinfo");
    let koff = info.kernel_offset().expect("KERNELOFFSET");
    assert_eq!(koff, 0x7a00000);
    assert_eq!(syms.encoding(), AddressEncoding::AbsolutePercpu);

    let map = support::system_map();
    let mut checked = 0;
    for (link_addr, kind, name) in &map {
        if !matches!(kind, 'T' | 't') {
            continue;
        }
        let run = link_addr + koff;
        // By name: the first symbol of that name; static functions may repeat a name.
        assert!(
            syms.lookup_all(name).any(|s| s.addr == run),
            "{name}: System.map says {run:#x}, kallsyms has {:?}",
            syms.lookup_all(name).map(|s| s.addr).collect::<Vec<_>>()
        );
        // By address: a symbol at exactly that address (any alias).
        let at = syms
            .symbolize(run)
            .unwrap_or_else(|| panic!("{run:#x} ({name}) unresolved"));
        assert_eq!(at.offset, 0, "{name} at {run:#x} resolved to {at}");
        assert_eq!(at.symbol.addr, run);
        checked += 1;
    }
    assert!(checked > 100_000, "only {checked} text symbols checked");
}

#[test]
fn counts_and_types_match_system_map() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let syms = kernel.symbols().expect("kallsyms");
    let map = support::system_map();
    // kallsyms leaves out a few link-time-only symbols (absolute 'A', the kallsyms tables'
    // own markers); every name it has is in System.map with the same type letter.
    let mut by_name = std::collections::HashMap::new();
    for (_, kind, name) in &map {
        by_name
            .entry(name.as_str())
            .or_insert_with(Vec::new)
            .push(*kind);
    }
    let mut missing = 0;
    for s in syms.iter() {
        match by_name.get(s.name) {
            // With absolute per-CPU addresses scripts/kallsyms retypes per-CPU symbols 'A'.
            Some(_) if s.kind == 'A' => {
                assert!(s.addr < 0x10_0000, "{}: A at {:#x}", s.name, s.addr)
            }
            Some(kinds) => assert!(
                kinds.contains(&s.kind),
                "{}: type {} vs {:?}",
                s.name,
                s.kind,
                kinds
            ),
            None => missing += 1,
        }
    }
    assert!(syms.len() > 160_000, "{} symbols", syms.len());
    assert!(
        missing < 16,
        "{missing} kallsyms names are not in System.map"
    );
}

#[test]
fn symbolize_gives_offset_and_size_like_the_kernel() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let syms = kernel.symbols().expect("kallsyms");
    // drgn (full debug info): CPU 0's first frame is __crash_kexec+284.
    let oracle = support::drgn_oracle("proc-vmcore");
    let frame = &oracle["cpus"][0]["frames"][0];
    let pc = frame["pc"].as_u64().expect("pc");
    let at = syms.symbolize(pc).expect("resolved");
    assert_eq!(at.symbol.name, frame["symbol"].as_str().expect("symbol"));
    assert_eq!(at.offset, frame["offset"].as_u64().expect("offset"));
    assert!(at.size.is_some_and(|s| s > at.offset));
    // Outside the kernel image nothing resolves (user space, the direct map).
    assert!(syms.symbolize(0x47b7a0).is_none());
    assert!(syms.symbolize(0xffff_88bf_4000_0000).is_none());
}

#[test]
fn kallsyms_of_qemu_dump_equals_proc_vmcore() {
    // Same boot, two dump writers: the tables decode the same.
    let a = support::proc_vmcore();
    let b = support::qemu_dump_06();
    let ka = Kernel::new(&a).expect("kernel a");
    let kb = Kernel::new(&b).expect("kernel b");
    let (sa, sb) = (ka.symbols().expect("a"), kb.symbols().expect("b"));
    assert_eq!(sa.len(), sb.len());
    assert!(sa.iter().zip(sb.iter()).all(|(x, y)| x == y));
}

/// Hostile tables: every corruption ends in an error naming an address, never a panic or a
/// huge allocation.
#[test]
fn corrupt_tables_are_errors() {
    let dump = support::proc_vmcore();
    let info = dump.vmcoreinfo().expect("vmcoreinfo");
    let t = kernel_introspect::kallsyms::KallsymsTables::from_vmcoreinfo(info).expect("tables");
    let reader = dump.virt_reader().expect("reader");
    // Copy the real tables into a map we can damage.
    let mut mem = MemoryMap::new();
    let names_len = (t.token_table - t.names) as usize;
    for (addr, len) in [
        (t.num_syms, 8usize),
        (t.names, names_len),
        (t.token_table, (t.token_index - t.token_table) as usize),
        (t.token_index, 512),
        (t.offsets.expect("offsets"), 4 * 170_000),
        (t.relative_base.expect("base"), 8),
    ] {
        mem.insert(addr, reader.read_vec(addr, len).expect("read"));
    }
    assert!(Kallsyms::decode(&t, &mem).is_ok());

    let damaged = |patch: &dyn Fn(&mut MemoryMap)| {
        let mut m = mem.clone();
        patch(&mut m);
        Kallsyms::decode(&t, &m)
    };
    // A count far past the table.
    let e = damaged(&|m| m.insert(t.num_syms, u32::MAX.to_le_bytes().to_vec())).unwrap_err();
    assert!(e.addr() == Some(t.num_syms), "{e}");
    // A count a little past the table: reads run into unmapped memory.
    let e = damaged(&|m| m.insert(t.num_syms, 400_000u32.to_le_bytes().to_vec())).unwrap_err();
    assert!(e.addr().is_some(), "{e}");
    // _stext no longer reproducible: no encoding is guessed.
    let mut t2 = t;
    t2.stext += 0x1000;
    let e = Kallsyms::decode(&t2, &mem).unwrap_err();
    assert!(e.to_string().contains("_stext"), "{e}");
    // Tokens without NUL.
    let e = damaged(&|m| {
        m.insert(
            t.token_table,
            vec![b'x'; (t.token_index - t.token_table) as usize],
        )
    })
    .unwrap_err();
    assert!(e.addr().is_some(), "{e}");
}

#[test]
fn cpu_masks_and_per_cpu_offsets_match_drgn() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let oracle = support::drgn_oracle("proc-vmcore");
    let online: Vec<u32> = oracle["cpus"]
        .as_array()
        .expect("cpus")
        .iter()
        .map(|c| c["cpu"].as_u64().expect("cpu") as u32)
        .collect();
    assert_eq!(
        kernel
            .cpus_in(kernel_introspect::CpuMask::Online)
            .expect("online"),
        online
    );
    assert_eq!(
        kernel
            .cpus_in(kernel_introspect::CpuMask::Possible)
            .expect("possible"),
        [0, 1, 2, 3]
    );
    // Each CPU's copy of a per-CPU variable is in the direct map, one per CPU.
    let a = kernel.per_cpu_offset(0).expect("cpu 0");
    let b = kernel.per_cpu_offset(2).expect("cpu 2");
    assert!(a != b && a >= 0xffff_8880_0000_0000 && b >= 0xffff_8880_0000_0000);
    assert!(kernel.per_cpu_offset(4).is_err());
}

/// A token longer than the decoder's fixed-size token slots (no real kernel has one) takes the
/// general expansion path: every name decodes, those without the token exactly as before.
#[test]
fn long_tokens_decode_by_the_general_path() {
    let dump = support::proc_vmcore();
    let info = dump.vmcoreinfo().expect("vmcoreinfo");
    let t = kernel_introspect::kallsyms::KallsymsTables::from_vmcoreinfo(info).expect("tables");
    let reader = dump.virt_reader().expect("reader");
    let real = Kallsyms::decode(&t, &reader).expect("decode");
    let mut mem = MemoryMap::new();
    let names_len = (t.token_table - t.names) as usize;
    for (addr, len) in [
        (t.num_syms, 8usize),
        (t.names, names_len),
        (t.offsets.expect("offsets"), 4 * 170_000),
        (t.relative_base.expect("base"), 8),
    ] {
        mem.insert(addr, reader.read_vec(addr, len).expect("read"));
    }
    // The real tokens, with the one that expands to "_" made 41 bytes long.
    let index = reader.read_vec(t.token_index, 512).expect("index");
    let table = reader
        .read_vec(t.token_table, (t.token_index - t.token_table) as usize)
        .expect("table");
    let long = format!("_{}", "Z".repeat(40));
    let (mut new_table, mut new_index) = (Vec::new(), Vec::new());
    let mut replaced = 0;
    for c in index.chunks_exact(2) {
        let off = u16::from_le_bytes([c[0], c[1]]) as usize;
        let end = off + table[off..].iter().position(|&b| b == 0).expect("NUL");
        new_index.extend_from_slice(&(new_table.len() as u16).to_le_bytes());
        if &table[off..end] == b"_" {
            new_table.extend_from_slice(long.as_bytes());
            replaced += 1;
        } else {
            new_table.extend_from_slice(&table[off..end]);
        }
        new_table.push(0);
    }
    assert_eq!(replaced, 1, "one token is \"_\"");
    new_table.resize(new_table.len() + 256, 0);
    let mut t2 = t;
    t2.token_table = 0xffff_ffff_f000_0000;
    t2.token_index = 0xffff_ffff_f100_0000;
    mem.insert(t2.token_table, new_table);
    mem.insert(t2.token_index, new_index);
    // "_stext" itself may contain the token: find the encoding by the other tables' _stext.
    let got = match Kallsyms::decode(&t2, &mem) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(got.len(), real.len());
    let (mut same, mut changed) = (0, 0);
    for (a, b) in real.iter().zip(got.iter()) {
        assert_eq!((a.addr, a.kind), (b.addr, b.kind));
        if a.name == b.name {
            same += 1;
        } else {
            assert!(b.name.contains(&"Z".repeat(40)), "{} -> {}", a.name, b.name);
            assert_eq!(a.name, b.name.replace(&long, "_"));
            changed += 1;
        }
    }
    assert!(
        same > 1000 && changed > 1000,
        "{same} same, {changed} changed"
    );
}
