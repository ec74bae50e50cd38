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

mod load;
mod query;
mod raw_dump;
mod view;

pub(crate) use load::LoadError;
pub use load::{MAX_KERNEL_BTF, read_kernel_btf};
pub use view::{ArrayInfo, Enumerator, Field, IntInfo, Member, Param, SecVar, Type};

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
        std::str::from_utf8(self.str_bytes_at(off)).unwrap_or("<non-UTF-8 name>")
    }

    /// The bytes of the string at `off` (without its NUL): what the name index hashes and
    /// compares, so building it validates no UTF-8.
    fn str_bytes_at(&self, off: u32) -> &[u8] {
        if off < self.str_base {
            return self.base.as_deref().map_or(&[], |b| b.str_bytes_at(off));
        }
        let start = self.strs.0 + (off - self.str_base) as usize;
        let Some(rest) = self.data.get(start..self.strs.1) else {
            return &[];
        };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        &rest[..end]
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
    pub fn types(&self) -> impl DoubleEndedIterator<Item = Type<'_>> + ExactSizeIterator + '_ {
        self.offsets.iter().enumerate().map(|(i, &off)| Type {
            btf: self,
            id: self.first_id + i as u32,
            off: off as usize,
        })
    }

    fn name_index(&self) -> &NameIndex {
        self.by_name.get_or_init(|| {
            // Sized by the named types (about half are anonymous), at most half full. A first
            // sequential pass counts them; the table is then a quarter of what sizing it by
            // all types with a chain-tail array took, and building it was the largest single
            // cost of `bt --all` (random writes into 3 MB).
            let named = self.types().filter(|t| t.name_off() != 0).count();
            let slots = (named * 2).next_power_of_two().max(2);
            let mut index = NameIndex {
                slots: vec![(0u32, 0u32); slots],
                next: vec![0u32; self.offsets.len() + 1],
            };
            // Highest id first: each type becomes its name's chain head, in front of the
            // higher ids of the same name, so every chain ends up in id order and the slot
            // keeps the lowest id without a separate array of chain tails.
            for t in self.types().rev() {
                if t.name_off() == 0 {
                    continue;
                }
                let name = self.str_bytes_at(t.name_off());
                let hash = name_hash_bytes(name);
                let mut h = hash as usize & (slots - 1);
                loop {
                    let (tag, first) = index.slots[h];
                    if first == 0 {
                        index.slots[h] = ((hash >> 32) as u32, t.id);
                        break;
                    }
                    // Names repeat (declaration tags, a struct and its typedef): one slot per
                    // distinct name, the rest chained, so insertion stays O(1). The stored
                    // high hash bits spare most string comparisons.
                    if tag == (hash >> 32) as u32 && self.name_bytes_of_id(first) == name {
                        index.next[t.id as usize - self.first_id as usize + 1] = first;
                        index.slots[h].1 = t.id;
                        break;
                    }
                    h = (h + 1) & (slots - 1);
                }
            }
            index
        })
    }

    fn name_bytes_of_id(&self, id: u32) -> &[u8] {
        self.type_by_id(id)
            .map(|t| self.str_bytes_at(t.name_off()))
            .unwrap_or(&[])
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
            if tag == (hash >> 32) as u32 && self.name_bytes_of_id(id) == name.as_bytes() {
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
    name_hash_bytes(name.as_bytes())
}

fn name_hash_bytes(name: &[u8]) -> u64 {
    let h = name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    });
    let h = (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// One pass over the type section: bounds and kind of every record, names in range.
fn index_types(data: &[u8], (start, end): (usize, usize), str_len: u32) -> BResult<Vec<u32>> {
    let section = &data[start..end];
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
        // The 12 bytes are there (checked above): read the two words from the slice.
        let word = |at: usize| {
            u32::from_le_bytes([
                section[at],
                section[at + 1],
                section[at + 2],
                section[at + 3],
            ])
        };
        let name_off = word(pos);
        let info = word(pos + 4);
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
        // Members, enumerators and parameters carry names too. The record's length was
        // checked above, so its entries are read from its slice directly.
        if matches!(
            kind,
            Kind::Struct | Kind::Union | Kind::Enum | Kind::Enum64 | Kind::FuncProto
        ) {
            let step = if matches!(kind, Kind::Enum | Kind::FuncProto) {
                8
            } else {
                12
            };
            let entries = &section[pos + RECORD_LEN as usize..pos + len as usize];
            for (i, e) in entries.chunks_exact(step).enumerate() {
                let name_off = u32::from_le_bytes([e[0], e[1], e[2], e[3]]);
                check_name(pos + RECORD_LEN as usize + i * step, name_off)?;
            }
        }
        offsets.push((start + pos) as u32);
        pos += len as usize;
    }
    Ok(offsets)
}
