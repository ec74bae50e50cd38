//! BTF blobs for tests and fuzz seeds, written from the kernel's include/uapi/linux/btf.h
//! (header, type records with their kind-specific data, string section). The builder writes
//! whatever it is told, including loops and absurd offsets: hostile inputs are built, never
//! hand-edited.

/// `BTF_KIND_*` numbers.
#[allow(missing_docs)]
pub mod kind {
    pub const INT: u32 = 1;
    pub const PTR: u32 = 2;
    pub const ARRAY: u32 = 3;
    pub const STRUCT: u32 = 4;
    pub const UNION: u32 = 5;
    pub const ENUM: u32 = 6;
    pub const FWD: u32 = 7;
    pub const TYPEDEF: u32 = 8;
    pub const VOLATILE: u32 = 9;
    pub const CONST: u32 = 10;
    pub const RESTRICT: u32 = 11;
    pub const FUNC: u32 = 12;
    pub const FUNC_PROTO: u32 = 13;
    pub const VAR: u32 = 14;
    pub const DATASEC: u32 = 15;
    pub const FLOAT: u32 = 16;
    pub const DECL_TAG: u32 = 17;
    pub const TYPE_TAG: u32 = 18;
    pub const ENUM64: u32 = 19;
}

/// Builds a BTF blob type by type. Ids are returned in order, starting at 1.
#[derive(Debug, Clone)]
pub struct BtfBuilder {
    types: Vec<u8>,
    strings: Vec<u8>,
    count: u32,
}

impl Default for BtfBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BtfBuilder {
    /// An empty blob (the string section holds the empty name).
    pub fn new() -> Self {
        BtfBuilder {
            types: Vec::new(),
            strings: vec![0],
            count: 0,
        }
    }

    /// Add `name` to the string section; its offset.
    pub fn string(&mut self, name: &str) -> u32 {
        if name.is_empty() {
            return 0;
        }
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        off
    }

    fn word(&mut self, w: u32) {
        self.types.extend_from_slice(&w.to_le_bytes());
    }

    /// A raw record: name, kind, vlen, kind_flag, the size-or-type word and the trailing words.
    pub fn raw(
        &mut self,
        name: &str,
        kind: u32,
        vlen: u32,
        kind_flag: bool,
        size_or_type: u32,
        trailer: &[u32],
    ) -> u32 {
        let name_off = self.string(name);
        self.word(name_off);
        self.word(((kind_flag as u32) << 31) | ((kind & 0x1f) << 24) | (vlen & 0xffff));
        self.word(size_or_type);
        for &w in trailer {
            self.word(w);
        }
        self.count += 1;
        self.count
    }

    /// `int`-like type of `bytes` bytes.
    pub fn int(&mut self, name: &str, bytes: u32, signed: bool) -> u32 {
        self.raw(
            name,
            kind::INT,
            0,
            false,
            bytes,
            &[((signed as u32) << 24) | (bytes * 8)],
        )
    }

    /// A pointer to `to`.
    pub fn ptr(&mut self, to: u32) -> u32 {
        self.raw("", kind::PTR, 0, false, to, &[])
    }

    /// A typedef, const, volatile, restrict or type tag (`k`) of `to`.
    pub fn link(&mut self, k: u32, name: &str, to: u32) -> u32 {
        self.raw(name, k, 0, false, to, &[])
    }

    /// `elem[n]`.
    pub fn array(&mut self, elem: u32, index: u32, n: u32) -> u32 {
        self.raw("", kind::ARRAY, 0, false, 0, &[elem, index, n])
    }

    /// A struct (or union with `union`) of `size` bytes with `(name, type, bit offset,
    /// bitfield bits)` members; any bitfield sets kind_flag.
    pub fn composite(
        &mut self,
        union: bool,
        name: &str,
        size: u32,
        members: &[(&str, u32, u32, u32)],
    ) -> u32 {
        let bitfields = members.iter().any(|m| m.3 != 0);
        let mut trailer = Vec::new();
        for &(n, t, off, bits) in members {
            trailer.push(self.string(n));
            trailer.push(t);
            trailer.push(if bitfields { (bits << 24) | off } else { off });
        }
        let k = if union { kind::UNION } else { kind::STRUCT };
        self.raw(name, k, members.len() as u32, bitfields, size, &trailer)
    }

    /// An enum of 4-byte values.
    pub fn enum32(&mut self, name: &str, values: &[(&str, i32)]) -> u32 {
        let mut trailer = Vec::new();
        for &(n, v) in values {
            trailer.push(self.string(n));
            trailer.push(v as u32);
        }
        let signed = values.iter().any(|v| v.1 < 0);
        self.raw(name, kind::ENUM, values.len() as u32, signed, 4, &trailer)
    }

    /// An enum of 8-byte values.
    pub fn enum64(&mut self, name: &str, values: &[(&str, u64)]) -> u32 {
        let mut trailer = Vec::new();
        for &(n, v) in values {
            trailer.push(self.string(n));
            trailer.push(v as u32);
            trailer.push((v >> 32) as u32);
        }
        self.raw(name, kind::ENUM64, values.len() as u32, false, 8, &trailer)
    }

    /// A function prototype returning `ret` with `(name, type)` parameters.
    pub fn func_proto(&mut self, ret: u32, params: &[(&str, u32)]) -> u32 {
        let mut trailer = Vec::new();
        for &(n, t) in params {
            trailer.push(self.string(n));
            trailer.push(t);
        }
        self.raw(
            "",
            kind::FUNC_PROTO,
            params.len() as u32,
            false,
            ret,
            &trailer,
        )
    }

    /// A data section of `size` bytes with `(var type, offset, size)` entries.
    pub fn datasec(&mut self, name: &str, size: u32, vars: &[(u32, u32, u32)]) -> u32 {
        let trailer: Vec<u32> = vars.iter().flat_map(|&(t, o, s)| [t, o, s]).collect();
        self.raw(
            name,
            kind::DATASEC,
            vars.len() as u32,
            false,
            size,
            &trailer,
        )
    }

    /// The blob: header, types, strings.
    pub fn build(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.push(1); // version
        out.push(0); // flags
        out.extend_from_slice(&24u32.to_le_bytes()); // hdr_len
        out.extend_from_slice(&0u32.to_le_bytes()); // type_off
        out.extend_from_slice(&(self.types.len() as u32).to_le_bytes());
        out.extend_from_slice(&(self.types.len() as u32).to_le_bytes()); // str_off
        out.extend_from_slice(&(self.strings.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// A small kernel-like blob using every kind: `task_struct` with nested anonymous members,
/// bitfields, arrays, typedef/qualifier chains, enums, a prototype, a data section, tags. For
/// tests and fuzz seeds.
pub fn sample() -> Vec<u8> {
    let mut b = BtfBuilder::new();
    let int = b.int("int", 4, true); // 1
    let ulong = b.int("long unsigned int", 8, false); // 2
    let char_ = b.int("char", 1, true); // 3
    let pid_t = b.link(kind::TYPEDEF, "pid_t", int); // 4
    let cpid = b.link(kind::CONST, "", pid_t); // 5
    let vpid = b.link(kind::VOLATILE, "", cpid); // 6
    let list = b.composite(false, "list_head", 16, &[]); // 7
    let lp = b.ptr(list); // 8
    // Fill list_head's members now that the pointer exists: a second definition wins lookups
    // by being complete, as kernels have only complete ones. Keep the first empty on purpose.
    let list2 = b.composite(
        false,
        "list_head_full",
        16,
        &[("next", lp, 0, 0), ("prev", lp, 64, 0)],
    );
    let comm = b.array(char_, int, 16);
    let thread = b.composite(
        false,
        "thread_struct",
        16,
        &[("ip", ulong, 0, 0), ("sp", ulong, 64, 0)],
    );
    let anon_inner = b.composite(false, "", 8, &[("on_cpu", int, 0, 0), ("cpu", int, 32, 0)]);
    let anon_union = b.composite(
        true,
        "",
        8,
        &[("", anon_inner, 0, 0), ("both", ulong, 0, 0)],
    );
    let flags = b.composite(
        false,
        "flagbits",
        4,
        &[("a", int, 0, 1), ("b", int, 1, 3), ("c", int, 4, 28)],
    );
    let mem = b.composite(
        false,
        "module_memory",
        16,
        &[("base", ulong, 0, 0), ("size", int, 64, 0)],
    );
    let mems = b.array(mem, int, 3);
    let task = b.composite(
        false,
        "task_struct",
        128,
        &[
            ("__state", int, 0, 0),
            ("pid", vpid, 32, 0),
            ("", anon_union, 64, 0),
            ("tasks", list2, 128, 0),
            ("comm", comm, 256, 0),
            ("thread", thread, 384, 0),
            ("flags", flags, 512, 0),
            ("mem", mems, 576, 0),
        ],
    );
    let _ = b.ptr(task);
    b.enum32(
        "mod_mem_type",
        &[("MOD_TEXT", 0), ("MOD_DATA", 1), ("MOD_NEG", -1)],
    );
    b.enum64("big", &[("HUGE", 1 << 40)]);
    let proto = b.func_proto(int, &[("t", task), ("", 0)]);
    b.raw("schedule", kind::FUNC, 0, false, proto, &[]);
    let var = b.raw("init_task", kind::VAR, 0, false, task, &[1]);
    b.datasec(".data", 128, &[(var, 0, 128)]);
    b.raw("rcu", kind::DECL_TAG, 0, false, task, &[u32::MAX]);
    b.link(kind::TYPE_TAG, "user", int);
    b.raw("fwd_thing", kind::FWD, 0, false, 0, &[]);
    b.raw("double", kind::FLOAT, 0, false, 8, &[]);
    b.link(kind::RESTRICT, "", lp);
    b.build()
}
