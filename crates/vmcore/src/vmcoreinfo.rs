//! The kernel's VMCOREINFO note: `KEY=VALUE` lines, with typed accessors.
//!
//! Value encodings follow the kernel's `VMCOREINFO_*` macros (kernel/vmcore_info.c):
//! `SYMBOL(x)` is hex without prefix (`%lx`), `SIZE`/`OFFSET`/`LENGTH` are decimal (`%lu`/`%d`),
//! `NUMBER(x)` is decimal (`%ld`, may be negative) except a few that the arch prints with `0x`
//! (`NUMBER(VMALLOC_START)=0x…` on x86_64), `KERNELOFFSET` is hex (`%lx`), `CRASHTIME` decimal
//! seconds. Unknown keys are kept.

use kdump_types::parse_hex;

/// Parsed VMCOREINFO.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VmcoreInfo {
    entries: Vec<(String, String)>,
    /// Absolute file offset of the note descriptor, when read from a file.
    pub offset: Option<u64>,
}

fn parse_number(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok().map(|v| v as i64);
    }
    s.parse::<i64>().ok()
}

impl VmcoreInfo {
    /// Parse the note text. Lines without `=` are ignored; NULs end the text.
    pub fn parse(text: &[u8]) -> Self {
        let end = text.iter().position(|&b| b == 0).unwrap_or(text.len());
        let text = String::from_utf8_lossy(&text[..end]);
        let entries = text
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once('=')?;
                Some((k.to_string(), v.to_string()))
            })
            .collect();
        VmcoreInfo {
            entries,
            offset: None,
        }
    }
    /// Every entry, in note order.
    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }
    /// The raw value of `key` (the last one when repeated).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
    /// `OSRELEASE`.
    pub fn osrelease(&self) -> Option<&str> {
        self.get("OSRELEASE")
    }
    /// `BUILD-ID`.
    pub fn build_id(&self) -> Option<&str> {
        self.get("BUILD-ID")
    }
    /// `PAGESIZE`.
    pub fn page_size(&self) -> Option<u64> {
        self.get("PAGESIZE")?.trim().parse().ok()
    }
    /// `SYMBOL(name)`: a kernel virtual address.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        parse_hex(self.get(&format!("SYMBOL({name})"))?)
    }
    /// `SIZE(name)`.
    pub fn size(&self, name: &str) -> Option<u64> {
        self.get(&format!("SIZE({name})"))?.trim().parse().ok()
    }
    /// `OFFSET(name)`, e.g. `offset("printk_info.seq")`.
    pub fn offset_of(&self, name: &str) -> Option<u64> {
        self.get(&format!("OFFSET({name})"))?.trim().parse().ok()
    }
    /// `LENGTH(name)`.
    pub fn length(&self, name: &str) -> Option<u64> {
        self.get(&format!("LENGTH({name})"))?.trim().parse().ok()
    }
    /// `NUMBER(name)` (decimal, or hex with `0x`).
    pub fn number(&self, name: &str) -> Option<i64> {
        parse_number(self.get(&format!("NUMBER({name})"))?)
    }
    /// `KERNELOFFSET`: the KASLR offset of kernel text.
    pub fn kernel_offset(&self) -> Option<u64> {
        parse_hex(self.get("KERNELOFFSET")?)
    }
    /// `CRASHTIME`: seconds since the epoch when the kernel crashed (absent in QEMU dumps of a
    /// live guest).
    pub fn crash_time(&self) -> Option<i64> {
        self.get("CRASHTIME")?.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_accessors() {
        let v = VmcoreInfo::parse(
            b"OSRELEASE=6.12.111+deb12-amd64\nPAGESIZE=4096\nSYMBOL(prb)=ffffffff8a65c3a0\n\
              SIZE(printk_info)=88\nOFFSET(printk_info.seq)=0\nLENGTH(mem_section)=4096\n\
              NUMBER(VMALLOC_START)=0xffffd08b00000000\nNUMBER(PAGE_BUDDY_MAPCOUNT_VALUE)=-268435456\n\
              KERNELOFFSET=7a00000\nCRASHTIME=1795656305\nWEIRD(x)=y\n\0\0garbage",
        );
        assert_eq!(v.osrelease(), Some("6.12.111+deb12-amd64"));
        assert_eq!(v.page_size(), Some(4096));
        assert_eq!(v.symbol("prb"), Some(0xffffffff8a65c3a0));
        assert_eq!(v.size("printk_info"), Some(88));
        assert_eq!(v.offset_of("printk_info.seq"), Some(0));
        assert_eq!(v.length("mem_section"), Some(4096));
        assert_eq!(
            v.number("VMALLOC_START"),
            Some(0xffffd08b00000000u64 as i64)
        );
        assert_eq!(v.number("PAGE_BUDDY_MAPCOUNT_VALUE"), Some(-268435456));
        assert_eq!(v.kernel_offset(), Some(0x7a00000));
        assert_eq!(v.crash_time(), Some(1795656305));
        assert_eq!(v.get("WEIRD(x)"), Some("y"));
        assert_eq!(v.entries().len(), 11);
    }
}
