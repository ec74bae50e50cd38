//! The kernel's BPF Type Format (BTF): every struct layout of the running kernel, which kernels
//! built with CONFIG_DEBUG_INFO_BTF keep in memory between the kallsyms symbols `__start_BTF`
//! and `__stop_BTF` (and loaded modules in `module.btf_data`).
//!
//! Format (the kernel's include/uapi/linux/btf.h, read and reimplemented here):
//! - a header: `u16 magic` (0xeB9F), `u8 version` (1), `u8 flags`, `u32 hdr_len`, then
//!   `type_off`, `type_len`, `str_off`, `str_len` (`u32`, relative to the end of the header);
//! - the type section: records of `u32 name_off`, `u32 info` (bits 0–15 `vlen`, 24–28 kind,
//!   31 `kind_flag`), `u32 size_or_type`, each followed by kind-specific data (`vlen` members,
//!   enumerators, parameters or section entries; one array/int/var/decl-tag word group). Type
//!   ids count from 1 in section order; 0 is `void`;
//! - the string section: NUL-terminated names, offset 0 is the empty name.
//!
//! [`Btf::parse`] checks the header and every record's bounds once, keeping one `u32` per type
//! (where its record starts); names are indexed on the first lookup by name. Every chain this
//! follows (typedefs and qualifiers, anonymous members, arrays of arrays) has a bound, so a
//! hostile blob with type loops ends in an error naming the type, never a hang.

use std::sync::{Arc, OnceLock};

use kdump_types::Bytes;

mod raw_dump;

/// The magic number, as the first two bytes read little-endian.
pub const BTF_MAGIC: u16 = 0xeb9f;

/// How many typedef/qualifier/array links a type may chain through before we call it a loop.
/// Real kernels chain a handful (`const volatile typedef …`).
pub const MAX_TYPE_CHAIN: usize = 32;

/// How deep anonymous struct/union members may nest when looking a member up by name (the
/// kernel nests three or four; `task_struct` randomization wraps members in one more).
pub const MAX_ANON_DEPTH: usize = 16;

/// Bytes of a pointer on the architectures we read (x86_64): BTF does not record it.
pub const POINTER_SIZE: u64 = 8;

/// The kinds of BTF types (`BTF_KIND_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Type id 0.
    Void,
    /// `BTF_KIND_INT`.
    Int,
    /// `BTF_KIND_PTR`.
    Ptr,
    /// `BTF_KIND_ARRAY`.
    Array,
    /// `BTF_KIND_STRUCT`.
    Struct,
    /// `BTF_KIND_UNION`.
    Union,
    /// `BTF_KIND_ENUM` (32-bit values).
    Enum,
    /// `BTF_KIND_FWD`.
    Fwd,
    /// `BTF_KIND_TYPEDEF`.
    Typedef,
    /// `BTF_KIND_VOLATILE`.
    Volatile,
    /// `BTF_KIND_CONST`.
    Const,
    /// `BTF_KIND_RESTRICT`.
    Restrict,
    /// `BTF_KIND_FUNC`.
    Func,
    /// `BTF_KIND_FUNC_PROTO`.
    FuncProto,
    /// `BTF_KIND_VAR`.
    Var,
    /// `BTF_KIND_DATASEC`.
    Datasec,
    /// `BTF_KIND_FLOAT`.
    Float,
    /// `BTF_KIND_DECL_TAG`.
    DeclTag,
    /// `BTF_KIND_TYPE_TAG`.
    TypeTag,
    /// `BTF_KIND_ENUM64`.
    Enum64,
}

impl Kind {
    fn from_raw(k: u32) -> Option<Kind> {
        Some(match k {
            1 => Kind::Int,
            2 => Kind::Ptr,
            3 => Kind::Array,
            4 => Kind::Struct,
            5 => Kind::Union,
            6 => Kind::Enum,
            7 => Kind::Fwd,
            8 => Kind::Typedef,
            9 => Kind::Volatile,
            10 => Kind::Const,
            11 => Kind::Restrict,
            12 => Kind::Func,
            13 => Kind::FuncProto,
            14 => Kind::Var,
            15 => Kind::Datasec,
            16 => Kind::Float,
            17 => Kind::DeclTag,
            18 => Kind::TypeTag,
            19 => Kind::Enum64,
            _ => return None,
        })
    }

    /// Bytes of kind-specific data after the 12-byte record, for `vlen` entries.
    fn trailer_len(self, vlen: u32) -> u64 {
        let vlen = vlen as u64;
        match self {
            Kind::Int | Kind::Var | Kind::DeclTag => 4,
            Kind::Array => 12,
            Kind::Struct | Kind::Union | Kind::Enum64 | Kind::Datasec => 12 * vlen,
            Kind::Enum | Kind::FuncProto => 8 * vlen,
            _ => 0,
        }
    }

    /// Whether the third word of the record is a size (else a type id or unused).
    fn has_size(self) -> bool {
        matches!(
            self,
            Kind::Int
                | Kind::Struct
                | Kind::Union
                | Kind::Enum
                | Kind::Enum64
                | Kind::Datasec
                | Kind::Float
        )
    }

    /// Whether the third word is a type id.
    fn has_type(self) -> bool {
        matches!(
            self,
            Kind::Ptr
                | Kind::Typedef
                | Kind::Volatile
                | Kind::Const
                | Kind::Restrict
                | Kind::Func
                | Kind::FuncProto
                | Kind::Var
                | Kind::DeclTag
                | Kind::TypeTag
        )
    }

    /// A lower-case name for messages (`struct`, `typedef`, …).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Void => "void",
            Kind::Int => "int",
            Kind::Ptr => "pointer",
            Kind::Array => "array",
            Kind::Struct => "struct",
            Kind::Union => "union",
            Kind::Enum => "enum",
            Kind::Fwd => "forward declaration",
            Kind::Typedef => "typedef",
            Kind::Volatile => "volatile",
            Kind::Const => "const",
            Kind::Restrict => "restrict",
            Kind::Func => "function",
            Kind::FuncProto => "function prototype",
            Kind::Var => "variable",
            Kind::Datasec => "data section",
            Kind::Float => "float",
            Kind::DeclTag => "declaration tag",
            Kind::TypeTag => "type tag",
            Kind::Enum64 => "enum64",
        }
    }
}

/// Why BTF could not be read or did not have what was asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BtfError {
    /// The bytes are not well-formed BTF.
    #[error("BTF offset {offset:#x}: {detail}")]
    Malformed {
        /// Offset in the BTF blob (from its first header byte).
        offset: u64,
        /// What was wrong.
        detail: String,
    },
    /// A type id is out of range or its type is not what the question needs (a loop, a
    /// member past the end of its struct, a pointer where a struct was expected).
    #[error("BTF type {id}: {detail}")]
    BadType {
        /// The type id.
        id: u32,
        /// What was wrong.
        detail: String,
    },
    /// No type of that kind and name.
    #[error("BTF has no {kind} named {name:?}")]
    NoSuchType {
        /// The kind looked for (`struct`, `union`, `typedef`, …).
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// The struct or union has no member on that path.
    #[error("BTF {container} has no member {member:?}")]
    NoSuchMember {
        /// The container, as `struct task_struct`.
        container: String,
        /// The member (path component) that is missing.
        member: String,
    },
}

impl BtfError {
    /// The offset in the blob, for malformed input.
    pub fn offset(&self) -> Option<u64> {
        match self {
            BtfError::Malformed { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

type BResult<T> = std::result::Result<T, BtfError>;

fn malformed(offset: u64, detail: impl Into<String>) -> BtfError {
    BtfError::Malformed {
        offset,
        detail: detail.into(),
    }
}

fn bad_type(id: u32, detail: impl Into<String>) -> BtfError {
    BtfError::BadType {
        id,
        detail: detail.into(),
    }
}

const HEADER_LEN: u64 = 24;
const RECORD_LEN: u64 = 12;

/// A parsed BTF blob: the bytes, where each type's record starts, and a lazily built name index.
///
/// A split BTF (a module's, on top of vmlinux's: [`Btf::parse_split`]) numbers its types after
/// its base's and its string offsets after the base's string section; lookups by id, by name
/// and of names go to the base for what is the base's.
pub struct Btf {
    data: Vec<u8>,
    /// The BTF this one extends (split BTF), `None` for vmlinux's own.
    base: Option<Arc<Btf>>,
    /// The id of the first type in `data`: 1, or the base's last id + 1.
    first_id: u32,
    /// String offsets below this are the base's: 0, or the base's string section length.
    str_base: u32,
    /// `[start, end)` of the string section in `data`.
    strs: (usize, usize),
    /// `offsets[id - 1]`: where type `id`'s record starts in `data`.
    offsets: Vec<u32>,
    /// Names indexed on first use.
    by_name: OnceLock<NameIndex>,
}

impl std::fmt::Debug for Btf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Btf")
            .field("bytes", &self.data.len())
            .field("types", &self.offsets.len())
            .field("first_id", &self.first_id)
            .finish()
    }
}

impl Btf {
    /// Parse a BTF blob (little-endian; a big-endian blob is reported, not decoded).
    pub fn parse(data: Vec<u8>) -> BResult<Btf> {
        Self::parse_with(data, None)
    }

    /// Parse split BTF on top of `base` (a module's BTF over vmlinux's, as the kernel loads it
    /// from a module's `.BTF` section): its type ids continue after the base's last, its string
    /// offsets after the base's string section.
    pub fn parse_split(data: Vec<u8>, base: Arc<Btf>) -> BResult<Btf> {
        Self::parse_with(data, Some(base))
    }

    /// The BTF this one extends, if it is split BTF.
    pub fn base(&self) -> Option<&Btf> {
        self.base.as_deref()
    }

    /// The id of this blob's first own type (1 unless split).
    pub fn first_id(&self) -> u32 {
        self.first_id
    }

    fn parse_with(data: Vec<u8>, base: Option<Arc<Btf>>) -> BResult<Btf> {
        let b = Bytes::new(&data, 0);
        let trunc = |e: kdump_types::ReadError| malformed(e.offset(), e.to_string());
        let magic = b.read_u16("BTF magic", 0).map_err(trunc)?;
        if magic != BTF_MAGIC {
            let detail = if magic == BTF_MAGIC.swap_bytes() {
                "big-endian BTF (magic 0x9feb): only little-endian kernels are supported".into()
            } else {
                format!("magic {magic:#06x}, expected {BTF_MAGIC:#06x}")
            };
            return Err(malformed(0, detail));
        }
        let version = b.read_u8("BTF version", 2).map_err(trunc)?;
        if version != 1 {
            return Err(malformed(2, format!("version {version}, expected 1")));
        }
        let hdr_len = b.read_u32("BTF hdr_len", 4).map_err(trunc)? as u64;
        if hdr_len < HEADER_LEN || hdr_len > data.len() as u64 {
            return Err(malformed(
                4,
                format!(
                    "hdr_len {hdr_len} (expected at least {HEADER_LEN} and at most the {} bytes there are)",
                    data.len()
                ),
            ));
        }
        let word = |off: u64| b.read_u32("BTF header", off).map(u64::from).map_err(trunc);
        let (type_off, type_len, str_off, str_len) = (word(8)?, word(12)?, word(16)?, word(20)?);
        let section = |field_at: u64, off: u64, len: u64, what: &str| -> BResult<(usize, usize)> {
            let start = hdr_len + off;
            let end = start + len;
            if end > data.len() as u64 {
                return Err(malformed(
                    field_at,
                    format!(
                        "{what} section {start:#x}..{end:#x} runs past the {:#x} bytes of BTF",
                        data.len()
                    ),
                ));
            }
            Ok((start as usize, end as usize))
        };
        let types = section(8, type_off, type_len, "type")?;
        let strs = section(16, str_off, str_len, "string")?;
        if strs.0 < types.1 && types.0 < strs.1 {
            return Err(malformed(8, "the type and string sections overlap"));
        }
        // Split BTF's strings continue the base's (whose first, empty, string is offset 0):
        // they need not start with a NUL, and may be empty.
        let (first_id, str_base) = match &base {
            Some(b) => (b.len() + 1, b.str_len()),
            None => (1, 0),
        };
        let own_ok = match base {
            None => str_len > 0 && data[strs.0] == 0 && data[strs.1 - 1] == 0,
            Some(_) => str_len == 0 || data[strs.1 - 1] == 0,
        };
        if !own_ok {
            return Err(malformed(
                strs.0 as u64,
                if base.is_some() {
                    "the string section of split BTF must end with a NUL byte"
                } else {
                    "the string section must start and end with a NUL byte"
                },
            ));
        }
        let str_total = u32::try_from(u64::from(str_base) + str_len)
            .map_err(|_| malformed(20, "string sections larger than 4 GiB"))?;
        let offsets = index_types(&data, types, str_total)?;
        if u64::from(first_id) + offsets.len() as u64 > u64::from(u32::MAX) {
            return Err(malformed(8, "more than 2^32 types"));
        }
        Ok(Btf {
            data,
            base,
            first_id,
            str_base,
            strs,
            offsets,
            by_name: OnceLock::new(),
        })
    }

    /// The highest type id (the number of types, the base's included for split BTF).
    pub fn len(&self) -> u32 {
        self.first_id - 1 + self.offsets.len() as u32
    }

    /// Whether there are no types besides `void`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the string sections, the base's included.
    fn str_len(&self) -> u32 {
        self.str_base + (self.strs.1 - self.strs.0) as u32
    }

    /// Index of type `id` in `offsets` (and in the name index's chains, plus one).
    fn local(&self, id: u32) -> Option<usize> {
        id.checked_sub(self.first_id).map(|i| i as usize)
    }

    /// The raw blob.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// The string at `off` in the string section (`""` when out of range, checked at parse for
    /// every name a record carries).
    fn str_at(&self, off: u32) -> &str {
        if off < self.str_base {
            return self.base.as_deref().map_or("", |b| b.str_at(off));
        }
        let start = self.strs.0 + (off - self.str_base) as usize;
        let Some(rest) = self.data.get(start..self.strs.1) else {
            return "";
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("<non-UTF-8 name>")
    }

    /// Type `id` (0 is `void`).
    pub fn type_by_id(&self, id: u32) -> BResult<Type<'_>> {
        if id == 0 {
            return Ok(Type {
                btf: self,
                id,
                off: usize::MAX,
            });
        }
        let Some(local) = self.local(id) else {
            // Below this blob's first id: the base's (split BTF; `first_id` is 1 otherwise).
            return match &self.base {
                Some(b) => b.type_by_id(id),
                None => Err(bad_type(id, "no such type")),
            };
        };
        let off = *self
            .offsets
            .get(local)
            .ok_or_else(|| bad_type(id, format!("no such type (BTF has {})", self.len())))?;
        Ok(Type {
            btf: self,
            id,
            off: off as usize,
        })
    }

    /// Every type of this blob in id order (without `void`; for split BTF, its own types, not
    /// the base's).
    pub fn types(&self) -> impl Iterator<Item = Type<'_>> + '_ {
        self.offsets.iter().enumerate().map(|(i, &off)| Type {
            btf: self,
            id: self.first_id + i as u32,
            off: off as usize,
        })
    }

    fn name_index(&self) -> &NameIndex {
        self.by_name.get_or_init(|| {
            // Sized by all types (about half are anonymous): one pass over the names, not two.
            let slots = (self.offsets.len() * 2).next_power_of_two().max(2);
            let mut index = NameIndex {
                slots: vec![(0u32, 0u32); slots],
                next: vec![0u32; self.offsets.len() + 1],
            };
            // Last id of each name's chain while building, so appending keeps id order.
            let mut tails: Vec<u32> = vec![0u32; slots];
            for t in self.types() {
                if t.name_off() == 0 {
                    continue;
                }
                let name = t.name();
                let hash = name_hash(name);
                let mut h = hash as usize & (slots - 1);
                loop {
                    let (tag, first) = index.slots[h];
                    if first == 0 {
                        index.slots[h] = ((hash >> 32) as u32, t.id);
                        tails[h] = t.id;
                        break;
                    }
                    // Names repeat (declaration tags, a struct and its typedef): one slot per
                    // distinct name, the rest chained, so insertion stays O(1). The stored
                    // high hash bits spare most string comparisons.
                    if tag == (hash >> 32) as u32 && self.name_of_id(first) == name {
                        index.next[tails[h] as usize - self.first_id as usize + 1] = t.id;
                        tails[h] = t.id;
                        break;
                    }
                    h = (h + 1) & (slots - 1);
                }
            }
            index
        })
    }

    fn name_of_id(&self, id: u32) -> &str {
        self.type_by_id(id).map(|t| t.name()).unwrap_or("")
    }

    /// Every type called `name`, in id order (all kinds; for split BTF the base's first).
    pub fn types_named<'s>(&'s self, name: &str) -> impl Iterator<Item = Type<'s>> + use<'s> {
        let base: Box<dyn Iterator<Item = Type<'s>> + 's> = match self.base.as_deref() {
            Some(b) => Box::new(b.types_named(name)),
            None => Box::new(std::iter::empty()),
        };
        base.chain(self.own_types_named(name))
    }

    fn own_types_named<'s>(&'s self, name: &str) -> impl Iterator<Item = Type<'s>> + use<'s> {
        let index = self.name_index();
        let mask = index.slots.len() - 1;
        let hash = name_hash(name);
        let mut h = hash as usize & mask;
        let mut first = 0;
        for _ in 0..index.slots.len() {
            let (tag, id) = index.slots[h];
            if id == 0 {
                break;
            }
            if tag == (hash >> 32) as u32 && self.name_of_id(id) == name {
                first = id;
                break;
            }
            h = (h + 1) & mask;
        }
        let mut id = first;
        std::iter::from_fn(move || {
            if id == 0 {
                return None;
            }
            let t = self.type_by_id(id).ok();
            id = self
                .local(id)
                .and_then(|l| index.next.get(l + 1))
                .copied()
                .unwrap_or(0);
            t
        })
    }

    /// The first type of `kind` called `name`.
    pub fn find(&self, kind: Kind, name: &str) -> BResult<Type<'_>> {
        self.types_named(name)
            .find(|t| t.kind() == kind)
            .ok_or_else(|| BtfError::NoSuchType {
                kind: kind.name(),
                name: name.into(),
            })
    }

    /// `struct name` (its definition, not a forward declaration).
    pub fn struct_by_name(&self, name: &str) -> BResult<Type<'_>> {
        self.find(Kind::Struct, name)
    }

    /// The type behind `id` with typedefs, `const`, `volatile`, `restrict` and type tags
    /// peeled off.
    pub fn resolve(&self, id: u32) -> BResult<Type<'_>> {
        let mut t = self.type_by_id(id)?;
        for _ in 0..MAX_TYPE_CHAIN {
            match t.kind() {
                Kind::Typedef | Kind::Volatile | Kind::Const | Kind::Restrict | Kind::TypeTag => {
                    t = self.type_by_id(t.raw_type())?;
                }
                _ => return Ok(t),
            }
        }
        Err(bad_type(
            id,
            format!("typedef/qualifier chain longer than {MAX_TYPE_CHAIN} links (a loop?)"),
        ))
    }

    /// The size in bytes of a value of type `id`.
    pub fn size_of(&self, id: u32) -> BResult<u64> {
        let mut t = self.resolve(id)?;
        let mut count: u64 = 1;
        for _ in 0..MAX_TYPE_CHAIN {
            let unit = match t.kind() {
                Kind::Ptr => POINTER_SIZE,
                Kind::Array => {
                    let a = t
                        .array()
                        .ok_or_else(|| bad_type(t.id, "array without data"))?;
                    count = count
                        .checked_mul(a.nelems as u64)
                        .ok_or_else(|| bad_type(id, "array size overflows 64 bits"))?;
                    t = self.resolve(a.elem_type)?;
                    continue;
                }
                k if k.has_size() => t.raw_size() as u64,
                k => {
                    return Err(bad_type(t.id, format!("a {} has no size", k.name())));
                }
            };
            return unit
                .checked_mul(count)
                .ok_or_else(|| bad_type(id, "array size overflows 64 bits"));
        }
        Err(bad_type(
            id,
            format!("array chain longer than {MAX_TYPE_CHAIN} links (a loop?)"),
        ))
    }

    /// `sizeof(struct name)`, or of a union or typedef of that name.
    pub fn sizeof(&self, name: &str) -> BResult<u64> {
        let t = self
            .types_named(name)
            .find(|t| matches!(t.kind(), Kind::Struct | Kind::Union | Kind::Typedef))
            .ok_or_else(|| BtfError::NoSuchType {
                kind: "struct, union or typedef",
                name: name.into(),
            })?;
        self.size_of(t.id)
    }

    /// The member of the struct or union `container` (a type id) at `path`: member names
    /// separated by `.`, each optionally indexed (`mem[0].base`, `thread.sp`). Members of
    /// anonymous structs and unions are found as C finds them, by their own name.
    pub fn member_at(&self, container: u32, path: &str) -> BResult<Field> {
        let mut field = Field {
            bit_offset: 0,
            bitfield_size: 0,
            type_id: container,
        };
        if path.is_empty() {
            return Err(BtfError::NoSuchMember {
                container: self.describe(container),
                member: String::new(),
            });
        }
        for component in path.split('.') {
            let (name, indexes) = match component.find('[') {
                Some(i) => (&component[..i], &component[i..]),
                None => (component, ""),
            };
            let outer = self.resolve(field.type_id)?;
            if !matches!(outer.kind(), Kind::Struct | Kind::Union) {
                return Err(bad_type(
                    outer.id,
                    format!(
                        "{} is a {}, not a struct or union: no member {name:?}",
                        self.describe(field.type_id),
                        outer.kind().name()
                    ),
                ));
            }
            let m = self
                .find_member(outer, name, 0)?
                .ok_or_else(|| BtfError::NoSuchMember {
                    container: self.describe(outer.id),
                    member: name.into(),
                })?;
            // A member must lie inside its container: anything else is not a kernel layout.
            let member_size = if m.bitfield_size > 0 {
                0
            } else {
                self.size_of(m.type_id)?
            };
            if (m.bit_offset / 8).saturating_add(member_size) > outer.raw_size() as u64 {
                return Err(bad_type(
                    outer.id,
                    format!(
                        "member {name:?} at byte {} runs past the end of {} ({} bytes)",
                        m.bit_offset / 8,
                        self.describe(outer.id),
                        outer.raw_size()
                    ),
                ));
            }
            field = Field {
                bit_offset: field.bit_offset + m.bit_offset,
                bitfield_size: m.bitfield_size,
                type_id: m.type_id,
            };
            let mut rest = indexes;
            while let Some(r) = rest.strip_prefix('[') {
                let close = r.find(']').ok_or_else(|| BtfError::NoSuchMember {
                    container: self.describe(outer.id),
                    member: component.into(),
                })?;
                let index: u64 = r[..close].parse().map_err(|_| BtfError::NoSuchMember {
                    container: self.describe(outer.id),
                    member: component.into(),
                })?;
                rest = &r[close + 1..];
                let arr = self.resolve(field.type_id)?;
                let a = arr.array().ok_or_else(|| {
                    bad_type(arr.id, format!("{component}: indexed, but not an array"))
                })?;
                if index >= a.nelems as u64 {
                    return Err(bad_type(
                        arr.id,
                        format!("{component}: index {index} past {} elements", a.nelems),
                    ));
                }
                let elem = self.size_of(a.elem_type)?;
                field.bit_offset += index * elem * 8;
                field.type_id = a.elem_type;
            }
        }
        Ok(field)
    }

    /// The member called `name` of `outer`, looking into anonymous members (depth-bounded).
    fn find_member(&self, outer: Type<'_>, name: &str, depth: usize) -> BResult<Option<Member>> {
        if depth > MAX_ANON_DEPTH {
            return Err(bad_type(
                outer.id,
                format!("anonymous members nest deeper than {MAX_ANON_DEPTH} (a loop?)"),
            ));
        }
        for m in outer.members() {
            if m.name_off != 0 {
                if self.str_at(m.name_off) == name {
                    return Ok(Some(m));
                }
                continue;
            }
            let inner = self.resolve(m.type_id)?;
            if !matches!(inner.kind(), Kind::Struct | Kind::Union) {
                continue;
            }
            if let Some(found) = self.find_member(inner, name, depth + 1)? {
                return Ok(Some(Member {
                    bit_offset: m.bit_offset + found.bit_offset,
                    ..found
                }));
            }
        }
        Ok(None)
    }

    /// The member at `path` of `struct container` (see [`Btf::member_at`]).
    pub fn member(&self, container: &str, path: &str) -> BResult<Field> {
        let s = self.struct_by_name(container)?;
        self.member_at(s.id, path)
    }

    /// The byte offset of the member at `path` of `struct container` (`thread.sp`,
    /// `mem[0].base`). Bitfields are an error: they have no byte offset.
    pub fn member_offset(&self, container: &str, path: &str) -> BResult<u64> {
        let f = self.member(container, path)?;
        if f.bitfield_size != 0 || f.bit_offset % 8 != 0 {
            return Err(BtfError::BadType {
                id: f.type_id,
                detail: format!("struct {container}.{path} is a bitfield"),
            });
        }
        Ok(f.bit_offset / 8)
    }

    /// Whether `struct container` has a member at `path` (to choose between kernel versions).
    pub fn has_member(&self, container: &str, path: &str) -> bool {
        self.member(container, path).is_ok()
    }

    /// The value of the enumerator `name` of any enum (`MOD_TEXT`).
    pub fn enum_value(&self, name: &str) -> BResult<i64> {
        for t in self.types() {
            if !matches!(t.kind(), Kind::Enum | Kind::Enum64) {
                continue;
            }
            if let Some(e) = t.enumerators().find(|e| e.name == name) {
                return Ok(e.value);
            }
        }
        Err(BtfError::NoSuchType {
            kind: "enumerator",
            name: name.into(),
        })
    }

    /// `struct foo`, `typedef bar`, `type 123` for messages.
    pub fn describe(&self, id: u32) -> String {
        match self.type_by_id(id) {
            Ok(t) if t.name().is_empty() => format!("anonymous {} (type {id})", t.kind().name()),
            Ok(t) => format!("{} {}", t.kind().name(), t.name()),
            Err(_) => format!("type {id}"),
        }
    }
}

/// Type ids by name: an open-addressing table with one slot per distinct name (id `0`: empty)
/// holding the high half of the name's hash and its lowest id, and `next[id]`: the next id of
/// the same name (`0`: last).
struct NameIndex {
    slots: Vec<(u32, u32)>,
    next: Vec<u32>,
}

/// FNV-1a of a name, finished with a multiply-xorshift so the low bits (the slot) depend on
/// every byte.
fn name_hash(name: &str) -> u64 {
    let h = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// One pass over the type section: bounds and kind of every record, names in range.
fn index_types(data: &[u8], (start, end): (usize, usize), str_len: u32) -> BResult<Vec<u32>> {
    let section = &data[start..end];
    let view = Bytes::new(section, start as u64);
    let word_at = |pos: usize| {
        view.read_u32("BTF type record", pos as u64)
            .map_err(|e| malformed(e.offset(), e.to_string()))
    };
    if end > u32::MAX as usize {
        return Err(malformed(start as u64, "BTF larger than 4 GiB"));
    }
    let mut offsets = Vec::with_capacity(section.len() / 16);
    let mut pos = 0usize;
    let check_name = |at: usize, name_off: u32| -> BResult<()> {
        if name_off >= str_len {
            return Err(malformed(
                (start + at) as u64,
                format!("name offset {name_off:#x} past the {str_len:#x}-byte string section"),
            ));
        }
        Ok(())
    };
    while pos < section.len() {
        let at = (start + pos) as u64;
        if section.len() - pos < RECORD_LEN as usize {
            return Err(malformed(
                at,
                format!(
                    "type {} record needs 12 bytes, {} left",
                    offsets.len() + 1,
                    section.len() - pos
                ),
            ));
        }
        let name_off = word_at(pos)?;
        let info = word_at(pos + 4)?;
        let raw_kind = (info >> 24) & 0x1f;
        let vlen = info & 0xffff;
        let kind = Kind::from_raw(raw_kind).ok_or_else(|| {
            malformed(
                at,
                format!("type {} has unknown kind {raw_kind}", offsets.len() + 1),
            )
        })?;
        check_name(pos, name_off)?;
        let len = RECORD_LEN + kind.trailer_len(vlen);
        if ((section.len() - pos) as u64) < len {
            return Err(malformed(
                at,
                format!(
                    "type {} ({} with {vlen} entries) needs {len} bytes, {} left",
                    offsets.len() + 1,
                    kind.name(),
                    section.len() - pos
                ),
            ));
        }
        // Members, enumerators and parameters carry names too.
        if matches!(
            kind,
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::FuncProto
        ) {
            let step = if matches!(kind, Kind::Enum | Kind::FuncProto) {
                8
            } else {
                12
            };
            for i in 0..vlen as usize {
                let e = pos + RECORD_LEN as usize + i * step;
                check_name(e, word_at(e)?)?;
            }
        }
        offsets.push((start + pos) as u32);
        pos += len as usize;
    }
    Ok(offsets)
}

/// One type: a view into its record.
#[derive(Clone, Copy)]
pub struct Type<'b> {
    btf: &'b Btf,
    id: u32,
    /// Offset of the record in the blob (`usize::MAX` for void).
    off: usize,
}

impl std::fmt::Debug for Type<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Type({}: {})", self.id, self.btf.describe(self.id))
    }
}

/// A struct or union member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    name_off: u32,
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
    fn word(&self, i: usize) -> u32 {
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

    fn name_off(&self) -> u32 {
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

    fn raw_size(&self) -> u32 {
        self.word(2)
    }

    fn raw_type(&self) -> u32 {
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

    fn trailer(&self, i: usize) -> u32 {
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

/// A larger `__stop_BTF - __start_BTF` is not a kernel's BTF (6.12's is about 5 MiB; an
/// allyesconfig build's about 30 MiB).
pub const MAX_KERNEL_BTF: u64 = 256 << 20;

/// Why the kernel's BTF could not be loaded, kept so that every caller gets the same answer.
#[derive(Debug, Clone)]
pub(crate) enum LoadError {
    NoBtf(String),
    Btf { addr: u64, source: BtfError },
    Other { addr: u64, detail: String },
}

impl LoadError {
    pub(crate) fn from_error(e: &crate::Error) -> Self {
        match e {
            crate::Error::NoBtf { why } => LoadError::NoBtf(why.clone()),
            crate::Error::Btf { addr, source } => LoadError::Btf {
                addr: *addr,
                source: source.clone(),
            },
            other => LoadError::Other {
                addr: other.addr().unwrap_or(0),
                detail: other.to_string(),
            },
        }
    }

    pub(crate) fn to_error(&self) -> crate::Error {
        match self {
            LoadError::NoBtf(why) => crate::Error::NoBtf { why: why.clone() },
            LoadError::Btf { addr, source } => crate::Error::Btf {
                addr: *addr,
                source: source.clone(),
            },
            LoadError::Other { addr, detail } => crate::Error::Corrupt {
                what: "kernel BTF",
                addr: *addr,
                detail: detail.clone(),
            },
        }
    }
}

/// Read and parse the kernel's BTF from `mem`, finding `__start_BTF`/`__stop_BTF` through
/// `lookup` (kallsyms). No such symbols: [`crate::Error::NoBtf`], naming
/// CONFIG_DEBUG_INFO_BTF. Other errors name the kernel address that was wrong.
pub fn read_kernel_btf(
    lookup: impl Fn(&str) -> Option<u64>,
    mem: &(impl crate::mem::KernelMemory + ?Sized),
) -> crate::Result<Btf> {
    load(lookup, mem).map_err(|e| e.to_error())
}

fn load(
    lookup: impl Fn(&str) -> Option<u64>,
    mem: &(impl crate::mem::KernelMemory + ?Sized),
) -> std::result::Result<Btf, LoadError> {
    let (Some(start), Some(stop)) = (lookup("__start_BTF"), lookup("__stop_BTF")) else {
        return Err(LoadError::NoBtf(
            "kallsyms has no __start_BTF/__stop_BTF".into(),
        ));
    };
    let len = stop
        .checked_sub(start)
        .filter(|&l| l > 0 && l <= MAX_KERNEL_BTF);
    let Some(len) = len else {
        return Err(LoadError::Other {
            addr: start,
            detail: format!(
                "__start_BTF {start:#x} .. __stop_BTF {stop:#x} is not a BTF blob (at most {MAX_KERNEL_BTF} bytes)"
            ),
        });
    };
    let bytes = mem
        .read_vec(start, len as usize)
        .map_err(|e| LoadError::Other {
            addr: e.addr().unwrap_or(start),
            detail: e.to_string(),
        })?;
    Btf::parse(bytes).map_err(|source| LoadError::Btf {
        addr: start,
        source,
    })
}

impl crate::Kernel<'_> {
    /// The kernel's own BTF (`__start_BTF`..`__stop_BTF`), read and indexed on first use.
    /// [`crate::Error::NoBtf`] when the kernel was built without CONFIG_DEBUG_INFO_BTF.
    pub fn btf(&self) -> crate::Result<&Btf> {
        self.btf_shared().map(|b| &**b)
    }

    /// The kernel's BTF as a shared handle (the base of module BTF).
    pub(crate) fn btf_shared(&self) -> crate::Result<&Arc<Btf>> {
        let r = self.btf.get_or_init(|| {
            let syms = self.symbols().map_err(|e| LoadError::from_error(&e))?;
            load(|name| syms.lookup_addr(name), self.memory()).map(Arc::new)
        });
        r.as_ref().map_err(LoadError::to_error)
    }
}
