//! The `--json` wire format: explicit, versioned DTOs converted from library types. This is the
//! only place that knows the JSON shape (documented in docs/json-schema.md). Fields may be added
//! in later versions; existing fields keep their names and meaning while `version` is 1.

use serde::Serialize;
use vmcore::{CpuContext, Dump, Finding, MemoryRange, Note, Segment};

/// Version of the JSON documents.
pub const VERSION: u32 = 1;

fn hex(v: u64) -> String {
    format!("{v:#x}")
}

#[derive(Serialize)]
pub struct FindingJson {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<String>,
    pub message: String,
}

impl From<&Finding> for FindingJson {
    fn from(f: &Finding) -> Self {
        FindingJson {
            code: f.code,
            name: f.name,
            severity: f.severity.as_str(),
            offset: f.offset.map(hex),
            message: f.message.clone(),
        }
    }
}

#[derive(Serialize)]
pub struct CpuJson {
    pub note_index: usize,
    pub note_offset: String,
    pub cpu: Option<u32>,
    pub pid: u32,
    pub has_context: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Registers in kernel order, as `[name, "0x…"]` pairs.
    pub registers: Vec<(&'static str, String)>,
    /// The kernel symbol of the instruction pointer (`function+0xoff/0xsize`), from kallsyms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qemu: Option<QemuJson>,
}

#[derive(Serialize)]
pub struct QemuJson {
    pub cr: Vec<String>,
    pub gdt_base: String,
    pub gdt_limit: u32,
    pub idt_base: String,
    pub idt_limit: u32,
    pub fs_base: String,
    pub gs_base: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_gs_base: Option<String>,
}

impl From<&CpuContext> for CpuJson {
    fn from(c: &CpuContext) -> Self {
        CpuJson {
            note_index: c.note_index,
            note_offset: hex(c.note_offset),
            cpu: c.cpu,
            pid: c.pid,
            has_context: c.regs.is_some(),
            problem: c.problem.as_ref().map(ToString::to_string),
            registers: c
                .regs
                .map(|r| r.named().into_iter().map(|(n, v)| (n, hex(v))).collect())
                .unwrap_or_default(),
            symbol: None,
            qemu: c.qemu.map(|q| QemuJson {
                cr: q.cr.iter().map(|&v| hex(v)).collect(),
                gdt_base: hex(q.gdt.base),
                gdt_limit: q.gdt.limit,
                idt_base: hex(q.idt.base),
                idt_limit: q.idt.limit,
                fs_base: hex(q.fs.base),
                gs_base: hex(q.gs.base),
                kernel_gs_base: q.kernel_gs_base.map(hex),
            }),
        }
    }
}

#[derive(Serialize)]
pub struct RangeJson {
    pub kind: &'static str,
    pub phys_start: String,
    pub phys_end: String,
    pub size: u64,
    pub virt_start: Option<String>,
    pub file_offset: Option<String>,
    pub file_size: u64,
    pub missing: u64,
    pub phdr_index: Option<usize>,
}

impl From<&MemoryRange> for RangeJson {
    fn from(r: &MemoryRange) -> Self {
        RangeJson {
            kind: match r.kind {
                vmcore::RangeKind::Load => "load",
                vmcore::RangeKind::KernelText => "kernel-text",
                vmcore::RangeKind::KdumpRam => "ram",
            },
            phys_start: hex(r.phys.start.0),
            phys_end: hex(r.phys.end.0),
            size: r.phys.len(),
            virt_start: r.virt.map(|v| hex(v.0)),
            file_offset: r.file_offset.map(|o| hex(o.0)),
            file_size: r.file_size,
            missing: r.missing(),
            phdr_index: r.phdr_index,
        }
    }
}

#[derive(Serialize)]
pub struct SegmentJson {
    pub index: usize,
    pub r#type: &'static str,
    pub offset: String,
    pub vaddr: String,
    pub paddr: String,
    pub filesz: String,
    pub memsz: String,
    pub flags: String,
    pub align: u64,
}

impl From<&Segment> for SegmentJson {
    fn from(s: &Segment) -> Self {
        SegmentJson {
            index: s.index,
            r#type: s.type_name(),
            offset: hex(s.p_offset),
            vaddr: hex(s.p_vaddr),
            paddr: hex(s.p_paddr),
            filesz: hex(s.p_filesz),
            memsz: hex(s.p_memsz),
            flags: s.flags_str().trim().to_string(),
            align: s.p_align,
        }
    }
}

#[derive(Serialize)]
pub struct NoteJson {
    pub name: String,
    pub r#type: u32,
    pub type_name: &'static str,
    pub offset: String,
    pub desc_offset: String,
    pub size: usize,
}

impl From<&Note> for NoteJson {
    fn from(n: &Note) -> Self {
        NoteJson {
            name: n.name.clone(),
            r#type: n.n_type,
            type_name: n.type_name(),
            offset: hex(n.offset),
            desc_offset: hex(n.desc_offset),
            size: n.desc.len(),
        }
    }
}

/// Common header of every document.
#[derive(Serialize)]
pub struct DumpHeaderJson {
    pub version: u32,
    pub file: String,
    pub format: &'static str,
    pub machine: String,
    /// `little` or `big` (ppc64, s390x): the order of the dump's headers and notes.
    pub byte_order: &'static str,
}

impl DumpHeaderJson {
    pub fn of(d: &Dump) -> Self {
        DumpHeaderJson {
            version: VERSION,
            file: crate::fmt::file_name(d.path()),
            format: d.format().name(),
            machine: d.machine().name(),
            byte_order: match d.byte_order() {
                vmcore::ByteOrder::Little => "little",
                vmcore::ByteOrder::Big => "big",
            },
        }
    }
}

/// `body` (a JSON object) with the common header fields added (`version`, `file`, `format`,
/// `machine`), for the documents built as `serde_json::Value`. A header field whose name the
/// document already uses for something else (`dmesg`'s `format` is the log's) keeps the
/// document's meaning, and the header's value goes in as `dump_<name>`.
pub fn with_header(d: &Dump, body: serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let serde_json::Value::Object(mut doc) = body else {
        return Ok(body);
    };
    if let serde_json::Value::Object(head) = serde_json::to_value(DumpHeaderJson::of(d))? {
        for (k, v) in head {
            let key = if doc.contains_key(&k) {
                format!("dump_{k}")
            } else {
                k
            };
            doc.insert(key, v);
        }
    }
    Ok(serde_json::Value::Object(doc))
}

/// Write a JSON document followed by a newline.
pub fn write<T: Serialize>(out: &mut dyn std::io::Write, v: &T) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}

/// Which CPU crashed and where, from the dump alone (kallsyms + ORC; the task's command through
/// BTF). `vmcore info --json` and `vmcore check --format json` carry it.
#[derive(Serialize, Clone)]
pub struct CrashJson {
    pub cpu: u32,
    pub pid: Option<u32>,
    /// The command of the task running on that CPU (BTF: the run queue's current task).
    pub comm: Option<String>,
    /// `function+0xoff` of the crash site.
    pub site: Option<String>,
    /// The top frames of the crashed CPU, innermost first.
    pub frames: Vec<String>,
}

impl From<kernel_introspect::CrashSummary> for CrashJson {
    fn from(c: kernel_introspect::CrashSummary) -> Self {
        CrashJson {
            cpu: c.cpu,
            pid: c.pid,
            comm: c.comm,
            site: c.site,
            frames: c.frames,
        }
    }
}

/// The crashed CPU from the dump alone ([`kernel_introspect::Kernel::crash_summary`]); `Err`
/// says why nothing can be told (no panic, no kallsyms); `None` when the dump has no kernel to
/// ask (no vmcoreinfo).
pub fn crash_summary(d: &Dump) -> Option<Result<kernel_introspect::CrashSummary, String>> {
    d.vmcoreinfo()?;
    let kernel = kernel_introspect::Kernel::new(d).ok()?;
    Some(kernel.crash_summary())
}
