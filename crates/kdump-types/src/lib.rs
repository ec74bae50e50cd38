//! Primitive types shared by `vmcore` and `elfcorehdr`.
//!
//! - [`PhysAddr`], [`VirtAddr`], [`FileOffset`]: address newtypes, so a physical address is never
//!   passed where a file offset is meant.
//! - [`PhysRange`]: a half-open physical range `[start, end)`.
//! - [`Bytes`]: a bounds-checked view of untrusted bytes that knows its absolute file offset,
//!   so every read error says *where* the input was wrong ([`ReadError`]), and its
//!   [`ByteOrder`] (little-endian unless the dump says otherwise: ppc64 and s390x dumps are
//!   big-endian).
//! - [`elf`]: the ELF constants, and the raw ELF layer (`Elf64Ehdr`, `Elf64Phdr`, `Nhdr`
//!   decoded and encoded with named field offsets) that every reader and writer uses.
//! - [`kdump`]: field offsets of makedumpfile's kdump-compressed headers.
//!
//! This crate has no dependencies and does no I/O.
#![cfg_attr(not(test), warn(clippy::unwrap_used, clippy::expect_used))]
#![deny(missing_docs)]

use std::fmt;

pub mod elf;
pub mod kdump;

macro_rules! addr_newtype {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw value.
            pub const fn get(self) -> u64 {
                self.0
            }
            /// `self + n`, or `None` on overflow.
            pub fn checked_add(self, n: u64) -> Option<Self> {
                self.0.checked_add(n).map(Self)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:#x})", stringify!($name), self.0)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:#x}", self.0)
            }
        }
        impl fmt::LowerHex for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::LowerHex::fmt(&self.0, f)
            }
        }
        impl From<u64> for $name {
            fn from(v: u64) -> Self {
                Self(v)
            }
        }
    };
}

addr_newtype!(
    /// A guest physical address.
    PhysAddr
);
addr_newtype!(
    /// A guest (kernel) virtual address.
    VirtAddr
);
addr_newtype!(
    /// An absolute offset in a dump file.
    FileOffset
);

/// A half-open physical address range `[start, end)`. `end` may be `u64::MAX`-saturated by
/// callers that describe the very top of the address space; `len()` never overflows.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PhysRange {
    /// First address in the range.
    pub start: PhysAddr,
    /// First address after the range.
    pub end: PhysAddr,
}

impl PhysRange {
    /// `[start, end)`; an inverted range is normalised to empty.
    pub fn new(start: u64, end: u64) -> Self {
        Self {
            start: PhysAddr(start),
            end: PhysAddr(end.max(start)),
        }
    }
    /// `[start, start + len)`, saturating at the top of the address space.
    pub fn from_start_len(start: u64, len: u64) -> Self {
        Self::new(start, start.saturating_add(len))
    }
    /// `[first, last]` as the kernel writes resources (inclusive end).
    pub fn from_inclusive(first: u64, last: u64) -> Self {
        Self::new(first, last.saturating_add(1))
    }
    /// Number of bytes.
    pub fn len(&self) -> u64 {
        self.end.0 - self.start.0
    }
    /// True when the range holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// True when `addr` is inside.
    pub fn contains(&self, addr: u64) -> bool {
        addr >= self.start.0 && addr < self.end.0
    }
    /// True when the two ranges share at least one byte.
    pub fn overlaps(&self, other: &PhysRange) -> bool {
        self.start.0 < other.end.0 && other.start.0 < self.end.0
    }
    /// The shared part, if any.
    pub fn intersect(&self, other: &PhysRange) -> Option<PhysRange> {
        let s = self.start.0.max(other.start.0);
        let e = self.end.0.min(other.end.0);
        (s < e).then(|| PhysRange::new(s, e))
    }
    /// The last address inside (inclusive), as /proc/iomem prints it.
    pub fn last(&self) -> u64 {
        self.end.0.saturating_sub(1)
    }
}

impl fmt::Debug for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhysRange({:#x}..{:#x})", self.start.0, self.end.0)
    }
}
impl fmt::Display for PhysRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}-{:#x}", self.start.0, self.last())
    }
}

/// Why a bounds-checked read failed. Every variant carries the absolute file offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The input ends before the field does.
    Truncated {
        /// What was being read (a static name such as `"ELF header"`).
        what: &'static str,
        /// Absolute offset where the field starts.
        offset: u64,
        /// Bytes the field needs.
        need: u64,
        /// Bytes available from `offset` on.
        have: u64,
    },
}

impl ReadError {
    /// The absolute file offset of the failure.
    pub fn offset(&self) -> u64 {
        match self {
            ReadError::Truncated { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Truncated {
                what,
                offset,
                need,
                have,
            } => write!(
                f,
                "{what} at file offset {offset:#x}: need {need} bytes, only {have} available"
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// The byte order of a dump's headers and of the machine that wrote it: a property of the
/// dump, found once (`EI_DATA` of an ELF file, the sanity of a kdump header's `block_size`)
/// and carried by every [`Bytes`] view of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ByteOrder {
    /// Least significant byte first (x86, arm64, ppc64le, riscv).
    #[default]
    Little,
    /// Most significant byte first (ppc64, s390x, 32-bit ppc and s390).
    Big,
}

impl ByteOrder {
    /// From `e_ident[EI_DATA]`: `ELFDATA2LSB` (1) or `ELFDATA2MSB` (2).
    pub fn from_elf_data(ei_data: u8) -> Option<Self> {
        match ei_data {
            elf::ELFDATA2LSB => Some(ByteOrder::Little),
            elf::ELFDATA2MSB => Some(ByteOrder::Big),
            _ => None,
        }
    }
    /// `e_ident[EI_DATA]` for this order.
    pub fn elf_data(self) -> u8 {
        match self {
            ByteOrder::Little => elf::ELFDATA2LSB,
            ByteOrder::Big => elf::ELFDATA2MSB,
        }
    }
    /// `"little-endian"` or `"big-endian"`.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "little-endian",
            ByteOrder::Big => "big-endian",
        }
    }
    /// Decode a `u16`.
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            ByteOrder::Little => u16::from_le_bytes(b),
            ByteOrder::Big => u16::from_be_bytes(b),
        }
    }
    /// Decode a `u32`.
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::Little => u32::from_le_bytes(b),
            ByteOrder::Big => u32::from_be_bytes(b),
        }
    }
    /// Decode a `u64`.
    pub fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            ByteOrder::Little => u64::from_le_bytes(b),
            ByteOrder::Big => u64::from_be_bytes(b),
        }
    }
    /// Encode a `u16`.
    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
    /// Encode a `u32`.
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
    /// Encode a `u64`.
    pub fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Little => v.to_le_bytes(),
            ByteOrder::Big => v.to_be_bytes(),
        }
    }
}

impl fmt::Display for ByteOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A bounds-checked view of untrusted bytes that knows its absolute position in the file.
///
/// Multi-byte reads are in the view's [`ByteOrder`]: little-endian from [`Bytes::new`], the
/// dump's own order once a reader has found it ([`Bytes::with_order`]); sub-views keep it.
/// The flattened format's record headers are big-endian whatever the dump is
/// ([`Bytes::read_u64_be`]).
#[derive(Clone, Copy)]
pub struct Bytes<'a> {
    data: &'a [u8],
    base: u64,
    order: ByteOrder,
}

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Bytes({} bytes at {:#x}, {})",
            self.data.len(),
            self.base,
            self.order
        )
    }
}

impl<'a> Bytes<'a> {
    /// A little-endian view of `data`, whose first byte is at absolute offset `base`.
    pub fn new(data: &'a [u8], base: u64) -> Self {
        Self {
            data,
            base,
            order: ByteOrder::Little,
        }
    }
    /// The same bytes, read in `order`.
    pub fn with_order(self, order: ByteOrder) -> Self {
        Self { order, ..self }
    }
    /// The byte order multi-byte reads use.
    pub fn order(&self) -> ByteOrder {
        self.order
    }
    /// The underlying slice.
    pub fn as_slice(&self) -> &'a [u8] {
        self.data
    }
    /// Absolute offset of the first byte.
    pub fn base(&self) -> u64 {
        self.base
    }
    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }
    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn err(&self, what: &'static str, off: u64, need: u64) -> ReadError {
        let have = (self.data.len() as u64).saturating_sub(off);
        ReadError::Truncated {
            what,
            offset: self.base.saturating_add(off),
            need,
            have,
        }
    }

    /// `len` bytes at relative offset `off`.
    pub fn slice(&self, what: &'static str, off: u64, len: u64) -> Result<&'a [u8], ReadError> {
        let end = off
            .checked_add(len)
            .ok_or_else(|| self.err(what, off, len))?;
        if end > self.data.len() as u64 {
            return Err(self.err(what, off, len));
        }
        // Both bounds were checked against data.len(), which fits in usize.
        Ok(&self.data[off as usize..end as usize])
    }

    /// A sub-view of `len` bytes at relative offset `off`, keeping absolute offsets right.
    pub fn sub(&self, what: &'static str, off: u64, len: u64) -> Result<Bytes<'a>, ReadError> {
        let s = self.slice(what, off, len)?;
        Ok(Bytes::new(s, self.base.saturating_add(off)).with_order(self.order))
    }

    /// Fixed-size array at relative offset `off`.
    pub fn array<const N: usize>(
        &self,
        what: &'static str,
        off: u64,
    ) -> Result<[u8; N], ReadError> {
        let s = self.slice(what, off, N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    /// `u8` at `off`.
    pub fn read_u8(&self, what: &'static str, off: u64) -> Result<u8, ReadError> {
        Ok(self.array::<1>(what, off)?[0])
    }
    /// `u16` at `off`, in the view's byte order.
    pub fn read_u16(&self, what: &'static str, off: u64) -> Result<u16, ReadError> {
        self.array(what, off).map(|a| self.order.u16(a))
    }
    /// `u32` at `off`, in the view's byte order.
    pub fn read_u32(&self, what: &'static str, off: u64) -> Result<u32, ReadError> {
        self.array(what, off).map(|a| self.order.u32(a))
    }
    /// `u64` at `off`, in the view's byte order.
    pub fn read_u64(&self, what: &'static str, off: u64) -> Result<u64, ReadError> {
        self.array(what, off).map(|a| self.order.u64(a))
    }
    /// `i64` at `off`, in the view's byte order.
    pub fn read_i64(&self, what: &'static str, off: u64) -> Result<i64, ReadError> {
        self.read_u64(what, off).map(|v| v as i64)
    }
    /// Big-endian `u64` at `off` (flattened-format record headers).
    pub fn read_u64_be(&self, what: &'static str, off: u64) -> Result<u64, ReadError> {
        self.array(what, off).map(u64::from_be_bytes)
    }
    /// Big-endian `i64` at `off`.
    pub fn read_i64_be(&self, what: &'static str, off: u64) -> Result<i64, ReadError> {
        self.array(what, off).map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests;

/// How bad a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing is wrong with the dump.
    Info,
    /// The dump is usable but something a debugger relies on may be missing or odd.
    Warning,
    /// The dump is wrong or incomplete in a way that misleads whoever debugs it.
    Error,
}

impl Severity {
    /// Lower-case name, as used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a reader or checker noticed that does not stop it: a truncated range, a zeroed
/// register note, an overlap. `code` is stable (listed in `docs/findings.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable code, e.g. `"ELF003"`.
    pub code: &'static str,
    /// Stable short name, e.g. `"load-truncated"`.
    pub name: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// Absolute file offset the finding is about, when it is about a place in the file.
    pub offset: Option<u64>,
    /// One-line explanation for people.
    pub message: String,
}

impl Finding {
    /// A new finding.
    pub fn new(
        code: &'static str,
        name: &'static str,
        severity: Severity,
        offset: Option<u64>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            name,
            severity,
            offset,
            message: message.into(),
        }
    }
}

/// One registered finding code: what every finding with this code is. Each crate lists its
/// codes once, in one table made by [`finding_codes!`] (`vmcore::findings::CODES`,
/// `elfcorehdr::findings::CODES`); `docs/findings.md` is checked against those tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FindingCode {
    /// Stable code (`ELF001`).
    pub code: &'static str,
    /// Stable name (`load-truncated`).
    pub name: &'static str,
    /// Severity of every finding with this code.
    pub severity: Severity,
    /// One-line meaning, for people and docs.
    pub meaning: &'static str,
}

impl FindingCode {
    /// A finding of this code about `offset` (an absolute file offset, when it is about a
    /// place in the file).
    pub fn finding(&self, offset: Option<u64>, message: impl Into<String>) -> Finding {
        Finding::new(self.code, self.name, self.severity, offset, message)
    }
}

/// Registers a crate's finding codes: one `const` [`FindingCode`] per code and `CODES`, the
/// table of all of them. This is the one way a finding code comes into being:
///
/// ```
/// kdump_types::finding_codes! {
///     LOAD_TRUNCATED = "ELF001", "load-truncated", Error,
///         "a PT_LOAD needs file bytes past the end of the file";
/// }
/// assert_eq!(CODES[0].name, "load-truncated");
/// ```
#[macro_export]
macro_rules! finding_codes {
    ($($id:ident = $code:literal, $name:literal, $sev:ident, $meaning:literal;)*) => {
        $(
            #[doc = concat!("`", $code, " ", $name, "`: ", $meaning)]
            pub const $id: $crate::FindingCode = $crate::FindingCode {
                code: $code,
                name: $name,
                severity: $crate::Severity::$sev,
                meaning: $meaning,
            };
        )*
        /// Every finding code of this crate, in code order.
        pub const CODES: &[$crate::FindingCode] = &[$($id),*];
    };
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} [{}]", self.severity, self.code, self.name)?;
        if let Some(o) = self.offset {
            write!(f, " at offset {o:#x}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A UTC calendar date and time, from seconds since the Unix epoch (proleptic Gregorian).
///
/// For printing `CRASHTIME` and history times without a date crate. Returns `(year, month,
/// day, hour, minute, second)`; Howard Hinnant's `civil_from_days`.
pub fn civil_utc(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m as u32,
        d as u32,
        (rem / 3600) as u32,
        (rem / 60 % 60) as u32,
        (rem % 60) as u32,
    )
}

/// A hexadecimal number as the kernel prints it in sysfs, procfs and vmcoreinfo: surrounding
/// whitespace ignored, `0x`/`0X` prefix optional (`/sys/kernel/vmcoreinfo`, `SYMBOL(x)`,
/// `block_size_bytes`, `crash_notes`).
pub fn parse_hex(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .unwrap_or(s);
    u64::from_str_radix(s, 16).ok()
}
