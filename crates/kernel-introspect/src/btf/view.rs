//! The view of one type record ([`Type`]) and the small values read from it: members,
//! array and int data, enumerators, parameters, data-section entries.

use super::*;

/// One type: a view into its record.
#[derive(Clone, Copy)]
pub struct Type<'b> {
    pub(super) btf: &'b Btf,
    pub(super) id: u32,
    /// Offset of the record in the blob (`usize::MAX` for void).
    pub(super) off: usize,
}

impl std::fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Type({}: {})", self.id, self.btf.describe(self.id))
    }
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub(super) name_off: u32,
    /// The member's type.
    pub type_id: u32,
    /// Offset in bits from the start of the container.
    pub bit_offset: u64,
    /// Bits of a bitfield (0: not a bitfield).
    pub bitfield_size: u32,
}

/// A member found by path: where it is and its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// Offset in bits from the start of the outermost struct.
    pub bit_offset: u64,
    /// Bits of a bitfield (0: not a bitfield).
    pub bitfield_size: u32,
    /// The member's type.
    pub type_id: u32,
}

impl Field {
    /// The byte offset (of the byte holding the first bit, for bitfields).
    pub fn offset(&self) -> u64 {
        self.bit_offset / 8
    }
}

/// `BTF_KIND_ARRAY` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArrayInfo {
    /// Element type.
    pub elem_type: u32,
    /// Index type.
    pub index_type: u32,
    /// Number of elements (0 for flexible arrays).
    pub nelems: u32,
}

/// `BTF_KIND_INT` data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IntInfo {
    /// `BTF_INT_SIGNED` (1), `BTF_INT_CHAR` (2), `BTF_INT_BOOL` (4).
    pub encoding: u8,
    /// Bit offset (0 in kernels since bitfields moved to members).
    pub offset: u8,
    /// Bits of the value.
    pub bits: u8,
}

/// An enumerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enumerator<'b> {
    /// Its name.
    pub name: &'b str,
    /// Its value (`ENUM64` values above `i64::MAX` wrap; check the kind flag for signedness).
    pub value: i64,
}

/// A function parameter (`FUNC_PROTO`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param<'b> {
    /// Its name (empty in prototypes without names).
    pub name: &'b str,
    /// Its type (0 with an empty name: `...`).
    pub type_id: u32,
}

/// A variable of a data section (`DATASEC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecVar {
    /// The `VAR` type id.
    pub type_id: u32,
    /// Offset in the section.
    pub offset: u32,
    /// Size.
    pub size: u32,
}

impl<'b> Type<'b> {
    pub(super) fn word(&self, i: usize) -> u32 {
        if self.off == usize::MAX {
            return 0;
        }
        // index_types proved that every record holds its header and trailer words, so this
        // read stays inside the blob; a failure would be a bug there, shown as a zero word.
        let read =
            Bytes::new(&self.btf.data, 0).read_u32("BTF type word", (self.off + 4 * i) as u64);
        debug_assert!(
            read.is_ok(),
            "BTF record {} word {i} past its record",
            self.id
        );
        read.unwrap_or(0)
    }

    /// The type id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        if self.off == usize::MAX {
            return Kind::Void;
        }
        // Checked at parse.
        Kind::from_raw((self.word(1) >> 24) & 0x1f).unwrap_or(Kind::Void)
    }

    pub(super) fn name_off(&self) -> u32 {
        self.word(0)
    }

    /// The name (`""` for anonymous types).
    pub fn name(&self) -> &'b str {
        self.btf.str_at(self.name_off())
    }

    /// `vlen`: members, enumerators, parameters or section variables.
    pub fn vlen(&self) -> u32 {
        self.word(1) & 0xffff
    }

    /// `kind_flag`: bitfield offsets in members (struct/union), union-ness of a forward
    /// declaration, signedness of an enum, attribute-ness of a tag.
    pub fn kind_flag(&self) -> bool {
        self.word(1) >> 31 == 1
    }

    pub(super) fn raw_size(&self) -> u32 {
        self.word(2)
    }

    pub(super) fn raw_type(&self) -> u32 {
        self.word(2)
    }

    /// The size in bytes, for kinds that have one (int, struct, union, enum, float, datasec).
    pub fn size(&self) -> Option<u32> {
        self.kind().has_size().then(|| self.raw_size())
    }

    /// The referenced type, for kinds that have one (pointer, typedef, qualifiers, func,
    /// func_proto's return type, var, decl_tag, type_tag).
    pub fn ref_type(&self) -> Option<u32> {
        self.kind().has_type().then(|| self.raw_type())
    }

    pub(super) fn trailer(&self, i: usize) -> u32 {
        self.word(3 + i)
    }

    /// Struct or union members, in order (empty for other kinds).
    pub fn members(&self) -> impl Iterator<Item = Member> + 'b {
        let t = *self;
        let n = if matches!(t.kind(), Kind::Struct | Kind::Union) {
            t.vlen() as usize
        } else {
            0
        };
        let bitfields = t.kind_flag();
        (0..n).map(move |i| {
            let raw = t.trailer(3 * i + 2);
            let (bit_offset, bitfield_size) = if bitfields {
                ((raw & 0xff_ffff) as u64, raw >> 24)
            } else {
                (raw as u64, 0)
            };
            Member {
                name_off: t.trailer(3 * i),
                type_id: t.trailer(3 * i + 1),
                bit_offset,
                bitfield_size,
            }
        })
    }

    /// A member's name.
    pub fn member_name(&self, m: &Member) -> &'b str {
        self.btf.str_at(m.name_off)
    }

    /// Array data, for arrays.
    pub fn array(&self) -> Option<ArrayInfo> {
        (self.kind() == Kind::Array).then(|| ArrayInfo {
            elem_type: self.trailer(0),
            index_type: self.trailer(1),
            nelems: self.trailer(2),
        })
    }

    /// Integer encoding, for ints.
    pub fn int(&self) -> Option<IntInfo> {
        (self.kind() == Kind::Int).then(|| {
            let v = self.trailer(0);
            IntInfo {
                encoding: ((v >> 24) & 0xf) as u8,
                offset: ((v >> 16) & 0xff) as u8,
                bits: (v & 0xff) as u8,
            }
        })
    }

    /// Enumerators of an enum or enum64 (empty for other kinds).
    pub fn enumerators(&self) -> impl Iterator<Item = Enumerator<'b>> + 'b {
        let t = *self;
        let (n, wide) = match t.kind() {
            Kind::Enum => (t.vlen() as usize, false),
            Kind::Enum64 => (t.vlen() as usize, true),
            _ => (0, false),
        };
        let signed = t.kind_flag();
        (0..n).map(move |i| {
            if wide {
                let lo = t.trailer(3 * i + 1) as u64;
                let hi = t.trailer(3 * i + 2) as u64;
                Enumerator {
                    name: t.btf.str_at(t.trailer(3 * i)),
                    value: (hi << 32 | lo) as i64,
                }
            } else {
                let v = t.trailer(2 * i + 1);
                Enumerator {
                    name: t.btf.str_at(t.trailer(2 * i)),
                    value: if signed { v as i32 as i64 } else { v as i64 },
                }
            }
        })
    }

    /// Parameters of a function prototype (empty for other kinds).
    pub fn params(&self) -> impl Iterator<Item = Param<'b>> + 'b {
        let t = *self;
        let n = if t.kind() == Kind::FuncProto {
            t.vlen() as usize
        } else {
            0
        };
        (0..n).map(move |i| Param {
            name: t.btf.str_at(t.trailer(2 * i)),
            type_id: t.trailer(2 * i + 1),
        })
    }

    /// Variables of a data section (empty for other kinds).
    pub fn section_vars(&self) -> impl Iterator<Item = SecVar> + 'b {
        let t = *self;
        let n = if t.kind() == Kind::Datasec {
            t.vlen() as usize
        } else {
            0
        };
        (0..n).map(move |i| SecVar {
            type_id: t.trailer(3 * i),
            offset: t.trailer(3 * i + 1),
            size: t.trailer(3 * i + 2),
        })
    }

    /// A variable's linkage (0 static, 1 global, 2 extern).
    pub fn var_linkage(&self) -> Option<u32> {
        (self.kind() == Kind::Var).then(|| self.trailer(0))
    }

    /// A declaration tag's component: -1 for the declaration itself, else the member or
    /// parameter index.
    pub fn decl_tag_component(&self) -> Option<i32> {
        (self.kind() == Kind::DeclTag).then(|| self.trailer(0) as i32)
    }
}
