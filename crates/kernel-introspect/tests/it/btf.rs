//! The BTF reader: on the real kernel's in-memory BTF, on a generated blob using every kind,
//! and on hostile blobs (loops, absurd offsets, truncation) built by testgen.

use kernel_introspect::Kernel;
use kernel_introspect::btf::{Btf, BtfError, Kind};
use kernel_introspect::mem::KernelMemory;
use proptest::prelude::*;
use testgen::btf::{BtfBuilder, kind};

use crate::support;

#[test]
fn real_kernel_btf_gives_the_layouts_the_kernel_uses() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let btf = kernel.btf().expect("btf");
    assert!(btf.len() > 100_000, "{} types", btf.len());
    // A dotted path equals the sum of its parts.
    let thread = btf.member_offset("task_struct", "thread").expect("thread");
    let sp = btf.member_offset("thread_struct", "sp").expect("sp");
    assert_eq!(
        btf.member_offset("task_struct", "thread.sp").expect("path"),
        thread + sp
    );
    // thread_info is the first member with THREAD_INFO_IN_TASK (current_thread_info() casts).
    assert_eq!(
        btf.member_offset("task_struct", "thread_info").expect("ti"),
        0
    );
    assert_eq!(btf.sizeof("inactive_task_frame").expect("size"), 7 * 8);
    assert_eq!(
        btf.member_offset("inactive_task_frame", "ret_addr")
            .expect("ret"),
        48
    );
    assert_eq!(btf.enum_value("MOD_TEXT").expect("MOD_TEXT"), 0);
    // pcpu_hot.current_task sits in an anonymous struct inside an anonymous union: found by
    // name, and every online CPU's copy names the same task as its run queue's curr.
    let current = btf
        .member_offset("pcpu_hot", "current_task")
        .expect("current_task");
    let pcpu_hot = kernel.symbol_addr("pcpu_hot", "test").expect("pcpu_hot");
    for cpu in kernel
        .cpus_in(kernel_introspect::CpuMask::Online)
        .expect("cpus")
    {
        let at = kernel.per_cpu_ptr(pcpu_hot, cpu).expect("per cpu") + current;
        let task = kernel.memory().read_u64(at).expect("current_task");
        assert_eq!(task, kernel.cpu_tasks(cpu).expect("rq").curr, "CPU {cpu}");
    }
    // Errors name what is missing.
    let e = btf.member_offset("task_struct", "no_such").unwrap_err();
    assert!(matches!(e, BtfError::NoSuchMember { .. }), "{e}");
    assert!(btf.struct_by_name("no_such_struct").is_err());
    assert!(
        btf.member_offset("task_struct", "comm[16]").is_err(),
        "past comm[16]"
    );
    assert_eq!(
        btf.member_offset("task_struct", "comm[3]")
            .expect("comm[3]"),
        btf.member_offset("task_struct", "comm").expect("comm") + 3
    );
}

#[test]
fn btf_of_qemu_dump_equals_proc_vmcore() {
    let a = support::proc_vmcore();
    let b = support::qemu_dump_06();
    let (ka, kb) = (Kernel::new(&a).expect("a"), Kernel::new(&b).expect("b"));
    assert_eq!(ka.btf().expect("a").bytes(), kb.btf().expect("b").bytes());
}

#[test]
fn every_kind_of_a_generated_blob() {
    let btf = Btf::parse(testgen::btf::sample()).expect("sample parses");
    let task = btf.struct_by_name("task_struct").expect("task_struct");
    assert_eq!((task.size(), task.vlen()), (Some(128), 8));
    // Anonymous union → anonymous struct → cpu.
    assert_eq!(btf.member_offset("task_struct", "cpu").expect("cpu"), 12);
    assert_eq!(btf.member_offset("task_struct", "both").expect("both"), 8);
    assert_eq!(
        btf.member_offset("task_struct", "tasks.prev")
            .expect("prev"),
        24
    );
    assert_eq!(
        btf.member_offset("task_struct", "mem[2].size")
            .expect("mem"),
        72 + 32 + 8
    );
    assert!(btf.member_offset("task_struct", "mem[3].size").is_err());
    // The typedef/const/volatile chain resolves to int.
    let pid = btf.member("task_struct", "pid").expect("pid");
    let int = btf.resolve(pid.type_id).expect("resolves");
    assert_eq!((int.kind(), int.name()), (Kind::Int, "int"));
    assert_eq!(int.int().expect("int").bits, 32);
    assert_eq!(btf.size_of(pid.type_id).expect("size"), 4);
    // Bitfields: offsets and sizes from kind_flag members; no byte offset for them.
    let flags = btf.struct_by_name("flagbits").expect("flags");
    assert!(flags.kind_flag());
    let bits: Vec<(u64, u32)> = flags
        .members()
        .map(|m| (m.bit_offset, m.bitfield_size))
        .collect();
    assert_eq!(bits, [(0, 1), (1, 3), (4, 28)]);
    assert_eq!(
        btf.member("task_struct", "flags.b").expect("b").bit_offset,
        512 + 1
    );
    assert!(btf.member_offset("flagbits", "b").is_err());
    // Enums, enum64, prototypes, data sections, tags, floats, forward declarations.
    assert_eq!(btf.enum_value("MOD_NEG").expect("neg"), -1);
    assert_eq!(btf.enum_value("HUGE").expect("huge"), 1 << 40);
    let f = btf.find(Kind::Func, "schedule").expect("func");
    let proto = btf.type_by_id(f.ref_type().expect("proto")).expect("proto");
    let params: Vec<_> = proto.params().map(|p| (p.name, p.type_id)).collect();
    assert_eq!(params, [("t", task.id()), ("", 0)]);
    let sec = btf.find(Kind::Datasec, ".data").expect("datasec");
    let v = sec.section_vars().next().expect("var");
    assert_eq!(
        btf.type_by_id(v.type_id).expect("var").var_linkage(),
        Some(1)
    );
    assert_eq!(
        btf.find(Kind::DeclTag, "rcu")
            .expect("tag")
            .decl_tag_component(),
        Some(-1)
    );
    assert_eq!(btf.sizeof("task_struct").expect("size"), 128);
    assert!(
        btf.size_of(btf.find(Kind::Fwd, "fwd_thing").expect("fwd").id())
            .is_err()
    );
    assert_eq!(
        btf.find(Kind::Float, "double").expect("float").size(),
        Some(8)
    );
    assert!(btf.find(Kind::TypeTag, "user").is_ok());
    assert_eq!(btf.types().count() as u32, btf.len());
}

#[test]
fn typedef_loops_are_errors() {
    let mut b = BtfBuilder::new();
    // typedef a → typedef b → a: ids 1 and 2.
    b.link(kind::TYPEDEF, "a", 2);
    b.link(kind::TYPEDEF, "b", 1);
    let arr = b.array(4, 1, 2); // 3: array of itself through 4
    b.raw("", kind::ARRAY, 0, false, 0, &[arr, 1, 2]); // 4
    b.composite(false, "s", 8, &[("x", 1, 0, 0), ("y", arr, 0, 0)]); // 5
    let btf = Btf::parse(b.build()).expect("well-formed");
    let e = btf.resolve(1).unwrap_err();
    assert!(e.to_string().contains("loop"), "{e}");
    assert!(btf.size_of(3).unwrap_err().to_string().contains("loop"));
    assert!(btf.member_offset("s", "x").is_err());
    assert!(btf.member_offset("s", "y").is_err());
}

#[test]
fn anonymous_member_loops_are_errors() {
    let mut b = BtfBuilder::new();
    // struct 1 has an anonymous member of its own type.
    b.composite(false, "selfish", 8, &[("", 1, 0, 0)]);
    let btf = Btf::parse(b.build()).expect("well-formed");
    let e = btf.member_offset("selfish", "x").unwrap_err();
    assert!(e.to_string().contains("deeper"), "{e}");
}

#[test]
fn absurd_member_offsets_are_errors() {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true);
    b.composite(
        false,
        "tiny",
        8,
        &[("far", int, 0x7fff_fff0, 0), ("ok", int, 32, 0)],
    );
    b.raw("", kind::STRUCT, 1, false, 4, &[0, 99, 0]); // member type 99: no such type
    let btf = Btf::parse(b.build()).expect("well-formed");
    let e = btf.member_offset("tiny", "far").unwrap_err();
    assert!(e.to_string().contains("past the end"), "{e}");
    assert_eq!(btf.member_offset("tiny", "ok").expect("ok"), 4);
    assert!(btf.type_by_id(99).is_err());
    assert!(btf.type_by_id(0).is_ok_and(|t| t.kind() == Kind::Void));
}

#[test]
fn malformed_blobs_are_errors_with_offsets() {
    let good = testgen::btf::sample();
    let parse = |bytes: Vec<u8>| Btf::parse(bytes).unwrap_err();
    // Bad magic, big-endian magic, bad version.
    let mut b = good.clone();
    b[0] = 0;
    assert_eq!(parse(b).offset(), Some(0));
    let mut b = good.clone();
    b.swap(0, 1);
    assert!(parse(b).to_string().contains("big-endian"));
    let mut b = good.clone();
    b[2] = 2;
    assert_eq!(parse(b).offset(), Some(2));
    // Sections past the end.
    let mut b = good.clone();
    b[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(parse(b).offset(), Some(16));
    // Truncated anywhere: an error, never a panic.
    for n in 0..good.len() {
        assert!(Btf::parse(good[..n].to_vec()).is_err(), "{n} bytes");
    }
    // An unknown kind and a name past the string section name the record.
    let mut bb = BtfBuilder::new();
    bb.int("int", 4, true);
    bb.raw("", 31, 0, false, 0, &[]);
    let e = parse(bb.build());
    assert_eq!(e.offset(), Some(24 + 16), "{e}");
    assert!(e.to_string().contains("unknown kind 31"));
    let mut b = BtfBuilder::new().build();
    b.truncate(24);
    let mut bb = BtfBuilder::new();
    bb.raw("", kind::INT, 0, false, 4, &[32]);
    let mut blob = bb.build();
    blob[24..28].copy_from_slice(&0x1000u32.to_le_bytes());
    assert!(parse(blob).to_string().contains("name offset"));
    // A struct whose members run past the type section.
    let mut bb = BtfBuilder::new();
    bb.raw("s", kind::STRUCT, 1000, false, 8, &[]);
    assert!(parse(bb.build()).to_string().contains("needs"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// Any damage to a valid blob parses or fails with an error; every query on what parses
    /// ends (no loop runs unbounded) without a panic.
    #[test]
    fn damaged_blobs_never_panic(edits in prop::collection::vec((any::<u16>(), any::<u8>()), 1..8)) {
        let mut b = testgen::btf::sample();
        for (at, v) in edits {
            let i = at as usize % b.len();
            b[i] = v;
        }
        if let Ok(btf) = Btf::parse(b) {
            for t in btf.types() {
                let _ = (t.name(), t.size(), t.members().count(), t.enumerators().count());
                let _ = btf.size_of(t.id());
                let _ = btf.describe(t.id());
            }
            for path in ["cpu", "tasks.prev", "mem[2].size", "comm[3]", "flags.b"] {
                let _ = btf.member_offset("task_struct", path);
            }
            let _ = btf.enum_value("MOD_TEXT");
        }
    }
}

/// A kernel without CONFIG_DEBUG_INFO_BTF has no `__start_BTF`: the error says so by name; a
/// blob that is not BTF names its kernel address and offset.
#[test]
fn missing_or_broken_kernel_btf_is_named() {
    use kernel_introspect::btf::read_kernel_btf;
    use kernel_introspect::mem::MemoryMap;
    let mem = MemoryMap::new();
    let e = read_kernel_btf(|_| None, &mem).unwrap_err();
    assert!(matches!(e, kernel_introspect::Error::NoBtf { .. }), "{e}");
    assert!(e.to_string().contains("CONFIG_DEBUG_INFO_BTF"), "{e}");

    let base = 0xffff_ffff_8260_0000_u64;
    let blob = testgen::btf::sample();
    let end = base + blob.len() as u64;
    let lookup = |n: &str| match n {
        "__start_BTF" => Some(base),
        "__stop_BTF" => Some(end),
        _ => None,
    };
    let mut mem = MemoryMap::new();
    mem.insert(base, blob.clone());
    let btf = read_kernel_btf(lookup, &mem).expect("sample");
    assert_eq!(btf.member_offset("task_struct", "cpu").expect("cpu"), 12);

    let mut broken = blob.clone();
    broken[2] = 9; // version
    let mut mem = MemoryMap::new();
    mem.insert(base, broken);
    let e = read_kernel_btf(lookup, &mem).unwrap_err();
    assert_eq!(e.addr(), Some(base + 2), "{e}");
    // Unmapped bytes: the address that could not be read.
    let e = read_kernel_btf(lookup, &MemoryMap::new()).unwrap_err();
    assert_eq!(e.addr(), Some(base), "{e}");
    // __stop_BTF below __start_BTF.
    let e = read_kernel_btf(
        |n| match n {
            "__start_BTF" => Some(end),
            "__stop_BTF" => Some(base),
            _ => None,
        },
        &mem,
    )
    .unwrap_err();
    assert!(e.to_string().contains("not a BTF blob"), "{e}");
}

/// Every named member of every struct and union of the real kernel's BTF is found by name at
/// the offset its record gives (first of equal names), and lies inside its container: the
/// bounds checks that reject absurd offsets never reject a real layout.
#[test]
fn every_member_of_the_real_kernel_resolves() {
    let dump = support::proc_vmcore();
    let kernel = Kernel::new(&dump).expect("kernel");
    let btf = kernel.btf().expect("btf");
    let mut checked = 0;
    for t in btf.types() {
        if !matches!(t.kind(), Kind::Struct | Kind::Union) {
            continue;
        }
        let mut names = std::collections::HashSet::new();
        for m in t.members() {
            let name = t.member_name(&m);
            if name.is_empty() || !names.insert(name) {
                continue;
            }
            let f = btf
                .member_at(t.id(), name)
                .unwrap_or_else(|e| panic!("{}.{name}: {e}", btf.describe(t.id())));
            assert_eq!(
                f.bit_offset,
                m.bit_offset,
                "{}.{name}",
                btf.describe(t.id())
            );
            checked += 1;
        }
    }
    assert!(checked > 50_000, "{checked} members");
}
