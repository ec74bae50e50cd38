//! Fuzz the BTF reader (`kernel_introspect::btf::Btf::parse`) and every query on what it
//! parses: type accessors, size and typedef resolution (loops must end in an error), member
//! paths through anonymous members and array indexes, enum lookups, the bpftool rendering of
//! `vmcore btf` (`Type::raw_dump`). Seeds: testgen's sample blob using every kind
//! (`testgen-fuzz-seeds`). The same bytes are also parsed as split BTF
//! on top of themselves (a module's BTF over vmlinux's: ids and string offsets continue the
//! base's) and queried the same way.
#![no_main]

use std::sync::Arc;

use kernel_introspect::btf::Btf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(btf) = Btf::parse(data.to_vec()) else {
        return;
    };
    exercise(&btf);
    if let Ok(split) = Btf::parse_split(data.to_vec(), Arc::new(btf)) {
        exercise(&split);
    }
});

fn exercise(btf: &Btf) {
    for t in btf.types().take(4096) {
        let _ = (t.kind(), t.name(), t.size(), t.ref_type(), t.kind_flag());
        let _ = t.members().count() + t.enumerators().count() + t.params().count();
        let _ = (t.array(), t.int(), t.var_linkage(), t.decl_tag_component());
        let _ = t.section_vars().count();
        let _ = btf.size_of(t.id());
        let _ = btf.resolve(t.id());
        let _ = btf.describe(t.id());
        let _ = t.raw_dump();
        if !t.name().is_empty() {
            let _ = btf.sizeof(t.name());
        }
    }
    for path in [
        "cpu",
        "tasks.prev",
        "mem[2].size",
        "comm[3]",
        "flags.b",
        "thread.sp",
    ] {
        let _ = btf.member_offset("task_struct", path);
    }
    let _ = btf.enum_value("MOD_TEXT");
}
