//! Questions asked of a parsed [`Btf`]: types by kind and name, what typedefs and qualifiers
//! resolve to, sizes, member offsets along a path (through anonymous members), enumerator
//! values. Every chain followed is bounded ([`MAX_TYPE_CHAIN`], [`MAX_ANON_DEPTH`]).

use super::*;

impl Btf {
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
