//! The one pass over the page descriptor table at open: the shared zero page, and the zero,
//! lost and truncated page counts (bounded by [`DESC_SCAN_LIMIT`]).

use kdump_types::Finding;

use super::{DESC_SCAN_LIMIT, KdumpFile, KdumpInfo, PAGE_DESC_SIZE, PageDesc};
use crate::findings as F;

impl KdumpFile {
    /// The shared zero page is the first page data (right after the descriptor table), raw
    /// and all zeros; makedumpfile writes it when `dump_level` excludes zero pages, QEMU always.
    pub(super) fn find_zero_page(&mut self, data: &[u8]) {
        let Some(at) = self
            .desc_count
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|n| n.checked_add(self.desc_base))
        else {
            return;
        };
        let ps = self.page_size();
        if let Ok(page) = self.layout.read(data, "zero page", at, ps)
            && page.iter().all(|&b| b == 0)
        {
            self.zero_page = Some(at);
        }
    }

    /// Count zero, lost and truncated pages from the descriptor table (bounded, see
    /// [`DESC_SCAN_LIMIT`]), and report what a cut-short file lacks.
    pub(super) fn scan_descriptors(
        &self,
        data: &[u8],
        info: &mut KdumpInfo,
        findings: &mut Vec<Finding>,
    ) {
        let image_len = self.layout.image_len();
        let table_end = self
            .desc_count
            .checked_mul(PAGE_DESC_SIZE)
            .and_then(|n| n.checked_add(self.desc_base));
        let readable = image_len.saturating_sub(self.desc_base) / PAGE_DESC_SIZE;
        let readable = readable.min(self.desc_count);
        if readable < self.desc_count {
            findings.push(F::KDUMP_TRUNCATED.finding(Some(
                    self.layout
                        .file_pos(self.desc_base + readable * PAGE_DESC_SIZE),
                ),
                format!(
                    "the page descriptor table (at {:#x}, {} descriptors, ending at {}) runs past \
                     the end of the data ({image_len:#x}): {} dumpable pages have no descriptor",
                    self.layout.file_pos(self.desc_base),
                    self.desc_count,
                    table_end.map_or("overflow".to_string(), |e| format!("{e:#x}")),
                    self.desc_count - readable
                ),
            ));
        }
        let counted = self.desc_count <= DESC_SCAN_LIMIT;
        let (mut zero, mut lost, mut past) = (0u64, 0u64, self.desc_count - readable);
        let (mut first_lost, mut first_past) = (None, None);
        if counted {
            const CHUNK: u64 = 4096;
            let mut i = 0;
            while i < readable {
                let n = CHUNK.min(readable - i);
                let off = self.desc_base + i * PAGE_DESC_SIZE;
                let Ok(chunk) = self.layout.read(data, "page_desc", off, n * PAGE_DESC_SIZE) else {
                    break;
                };
                for (k, raw) in chunk.chunks_exact(PAGE_DESC_SIZE as usize).enumerate() {
                    let mut a = [0u8; 24];
                    a.copy_from_slice(raw);
                    let d = PageDesc::from_bytes(&a, self.header.byte_order);
                    let at = off + k as u64 * PAGE_DESC_SIZE;
                    if d.offset == 0 {
                        lost += 1;
                        first_lost.get_or_insert(at);
                    } else if Some(d.offset as u64) == self.zero_page {
                        zero += 1;
                    } else if d.offset > 0
                        && (d.offset as u64).saturating_add(u64::from(d.size)) > image_len
                    {
                        past += 1;
                        first_past.get_or_insert(at);
                    }
                }
                i += n;
            }
        } else if readable > 0 {
            // Too many pages to scan at open: page data is written in PFN order, so the last
            // descriptor tells whether the data was cut short.
            let at = self.desc_base + (readable - 1) * PAGE_DESC_SIZE;
            if let Ok(raw) = self.layout.read(data, "page_desc", at, PAGE_DESC_SIZE)
                && let Ok(a) = <[u8; 24]>::try_from(&raw[..])
            {
                let d = PageDesc::from_bytes(&a, self.header.byte_order);
                if d.offset > 0 && (d.offset as u64).saturating_add(u64::from(d.size)) > image_len {
                    first_past = Some(at);
                    past += 1;
                }
            }
        }
        if lost > 0 {
            findings.push(F::KDUMP_PAGES_LOST.finding(
                first_lost.map(|o| self.layout.file_pos(o)),
                format!(
                    "{lost} dumpable pages have a descriptor with offset 0: they were never \
                     written (incomplete dump) and read as lost"
                ),
            ));
        }
        if let Some(at) = first_past {
            findings.push(F::KDUMP_TRUNCATED.finding(
                Some(self.layout.file_pos(at)),
                format!(
                    "the file is cut short: {}page data lies past its end ({image_len:#x} bytes); \
                     the first such descriptor is at {:#x}",
                    if counted {
                        format!("{} pages' ", past - (self.desc_count - readable))
                    } else {
                        String::new()
                    },
                    self.layout.file_pos(at)
                ),
            ));
        }
        info.zero_pages = zero;
        info.lost_pages = lost;
        info.truncated_pages = past;
        info.pages_counted = counted;
    }
}
