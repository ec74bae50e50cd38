//! One BTF type as `bpftool btf dump ... format raw` prints it (bpftool 7.1, Debian 12), so a
//! type read from a dump can be compared with, and read like, what kernel developers already
//! know. The text is pinned by a test against bpftool itself on the real vmlinux BTF.

use std::fmt::Write as _;

use super::{Kind, Type};

impl Type<'_> {
    /// bpftool's upper-case name of the kind (`STRUCT`, `FUNC_PROTO`, …).
    pub fn raw_kind(&self) -> &'static str {
        match self.kind() {
            Kind::Void => "VOID",
            Kind::Int => "INT",
            Kind::Ptr => "PTR",
            Kind::Array => "ARRAY",
            Kind::Struct => "STRUCT",
            Kind::Union => "UNION",
            Kind::Enum => "ENUM",
            Kind::Fwd => "FWD",
            Kind::Typedef => "TYPEDEF",
            Kind::Volatile => "VOLATILE",
            Kind::Const => "CONST",
            Kind::Restrict => "RESTRICT",
            Kind::Func => "FUNC",
            Kind::FuncProto => "FUNC_PROTO",
            Kind::Var => "VAR",
            Kind::Datasec => "DATASEC",
            Kind::Float => "FLOAT",
            Kind::DeclTag => "DECL_TAG",
            Kind::TypeTag => "TYPE_TAG",
            Kind::Enum64 => "ENUM64",
        }
    }

    /// The type in bpftool's raw format: a `[id] KIND 'name' …` line, then one tab-indented
    /// line per member, enumerator, parameter or section variable.
    pub fn raw_dump(&self) -> String {
        let name = |n: &str| {
            if n.is_empty() {
                "(anon)".to_string()
            } else {
                n.to_string()
            }
        };
        let kind = self.raw_kind();
        let mut s = format!("[{}] {kind} '{}'", self.id(), name(self.name()));
        let r = self.ref_type().unwrap_or(0);
        let size = self.size().unwrap_or(0);
        // `write!` to a String cannot fail.
        match self.kind() {
            Kind::Int => {
                let i = self.int().unwrap_or_default();
                let enc = match i.encoding {
                    0 => "(none)",
                    1 => "SIGNED",
                    2 => "CHAR",
                    4 => "BOOL",
                    _ => "UNKN",
                };
                let _ = write!(
                    s,
                    " size={size} bits_offset={} nr_bits={} encoding={enc}",
                    i.offset, i.bits
                );
            }
            Kind::Ptr | Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef => {
                let _ = write!(s, " type_id={r}");
            }
            Kind::TypeTag => {
                let _ = write!(s, " type_id={r}");
            }
            Kind::Array => {
                let a = self.array().unwrap_or_default();
                let _ = write!(
                    s,
                    " type_id={} index_type_id={} nr_elems={}",
                    a.elem_type, a.index_type, a.nelems
                );
            }
            Kind::Struct | Kind::Union => {
                let _ = write!(s, " size={size} vlen={}", self.vlen());
                for m in self.members() {
                    let _ = write!(
                        s,
                        "\n\t'{}' type_id={} bits_offset={}",
                        name(self.member_name(&m)),
                        m.type_id,
                        m.bit_offset
                    );
                    if m.bitfield_size != 0 {
                        let _ = write!(s, " bitfield_size={}", m.bitfield_size);
                    }
                }
            }
            Kind::Enum | Kind::Enum64 => {
                let enc = if self.kind_flag() {
                    "SIGNED"
                } else {
                    "UNSIGNED"
                };
                let _ = write!(s, " encoding={enc} size={size} vlen={}", self.vlen());
                // ENUM64 values carry C's literal suffix.
                let suffix = match (self.kind(), self.kind_flag()) {
                    (Kind::Enum64, true) => "LL",
                    (Kind::Enum64, false) => "ULL",
                    _ => "",
                };
                for e in self.enumerators() {
                    let n = name(e.name);
                    if self.kind_flag() {
                        let _ = write!(s, "\n\t'{n}' val={}{suffix}", e.value);
                    } else {
                        let _ = write!(s, "\n\t'{n}' val={}{suffix}", e.value as u64);
                    }
                }
            }
            Kind::Fwd => {
                let k = if self.kind_flag() { "union" } else { "struct" };
                let _ = write!(s, " fwd_kind={k}");
            }
            Kind::Func => {
                let linkage = ["static", "global", "extern"]
                    .get(self.vlen() as usize)
                    .copied()
                    .unwrap_or("(unknown)");
                let _ = write!(s, " type_id={r} linkage={linkage}");
            }
            Kind::FuncProto => {
                let _ = write!(s, " ret_type_id={r} vlen={}", self.vlen());
                for p in self.params() {
                    let _ = write!(s, "\n\t'{}' type_id={}", name(p.name), p.type_id);
                }
            }
            Kind::Var => {
                let linkage = match self.var_linkage() {
                    Some(0) => "static",
                    Some(1) => "global",
                    Some(2) => "extern",
                    _ => "(unknown)",
                };
                let _ = write!(s, " type_id={r}, linkage={linkage}");
            }
            Kind::Datasec => {
                let _ = write!(s, " size={size} vlen={}", self.vlen());
                for v in self.section_vars() {
                    let _ = write!(
                        s,
                        "\n\ttype_id={} offset={} size={}",
                        v.type_id, v.offset, v.size
                    );
                    // bpftool names the variable a section entry points at.
                    if let Ok(var) = self.btf.type_by_id(v.type_id) {
                        let _ = write!(s, " ({} '{}')", var.raw_kind(), name(var.name()));
                    }
                }
            }
            Kind::Float => {
                let _ = write!(s, " size={size}");
            }
            Kind::DeclTag => {
                let _ = write!(
                    s,
                    " type_id={r} component_idx={}",
                    self.decl_tag_component().unwrap_or(-1)
                );
            }
            Kind::Void => {}
        }
        s
    }
}
