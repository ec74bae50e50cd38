//! Every finding code `vmcore` reports, registered once (`docs/findings.md` is checked against
//! [`CODES`] by a test). A reader makes a finding with `CODE.finding(offset, message)`.

kdump_types::finding_codes! {
    // ELF structure (elf.rs, dump.rs).
    LOAD_TRUNCATED = "ELF001", "load-truncated", Error,
        "a PT_LOAD needs file bytes past the end of the file";
    LOADS_OVERLAP = "ELF003", "loads-overlap", Warning,
        "two RAM PT_LOADs describe the same physical addresses";
    DUMP_INCOMPLETE_FLAG = "ELF004", "dump-incomplete-flag", Error,
        "e_flags has DUMP_ELF_INCOMPLETE: makedumpfile stopped before writing every page";
    HEADERS_ONLY = "ELF006", "headers-only", Info,
        "a raw elfcorehdr: program headers describe memory by physical address, the file holds none";
    NOTE_SEGMENT_TRUNCATED = "ELF007", "note-segment-truncated", Error,
        "a PT_NOTE needs file bytes past the end of the file";
    LOAD_FILESZ_EXCEEDS_MEMSZ = "ELF008", "load-filesz-exceeds-memsz", Warning,
        "a PT_LOAD's p_filesz is larger than its p_memsz; the extra bytes are ignored";
    LOADS_SHARE_FILE_BYTES = "ELF009", "loads-share-file-bytes", Warning,
        "two PT_LOADs read the same file bytes for different memory";
    LOAD_WRAPS = "ELF010", "load-wraps", Error,
        "a PT_LOAD's p_paddr + p_memsz runs past 2^64";
    LOAD_BEYOND_PHYSICAL_SPACE = "ELF011", "load-beyond-physical-space", Error,
        "a PT_LOAD ends past the architecture's physical address space (2^52)";
    PHENTSIZE_LARGER = "ELF012", "phentsize-larger", Info,
        "e_phentsize is larger than the class's program header; entries are read at that stride";
    // Whole dump (dump.rs).
    NO_READABLE_MEMORY = "DUMP001", "no-readable-memory", Warning,
        "the file stores no page of memory and no error finding already says why";
    NO_NOTES = "DUMP002", "no-notes", Warning,
        "the dump has no ELF note at all (no registers, no VMCOREINFO)";
    // Notes (notes.rs, dump.rs).
    NOTE_OVERRUN = "NOTE001", "note-overrun", Error,
        "a note runs past the end of its segment; later notes are dropped";
    NOTE_TRAILING_BYTES = "NOTE002", "note-trailing-bytes", Warning,
        "non-zero bytes too short for a note header follow the last note";
    NO_VMCOREINFO = "NOTE003", "no-vmcoreinfo", Warning,
        "the dump has no VMCOREINFO note: virtual reads, the kernel log and symbols are unavailable";
    // Register notes (dump.rs, from CpuProblem).
    REGISTER_NOTE_ZEROED = "CPU001", "register-note-zeroed", Warning,
        "a register note is all zero: that CPU saved no context";
    REGISTER_NOTE_UNDECODABLE = "CPU002", "register-note-undecodable", Error,
        "a register note could not be decoded (too short for its architecture, or unreadable)";
    REGISTERS_NOT_DECODED = "CPU003", "registers-not-decoded", Info,
        "register notes of this architecture are kept but not decoded (x86_64, i386, aarch64, ppc64 and s390x are)";
    // kdump-compressed (kdump/).
    KDUMP_INCOMPLETE = "KDUMP001", "kdump-incomplete", Error,
        "the header's DUMP_DH_COMPRESSED_INCOMPLETE flag is set: pages not written read as lost";
    KDUMP_TRUNCATED = "KDUMP002", "kdump-truncated", Error,
        "page descriptors or page data lie past the end of the file";
    KDUMP_BITMAP_TRUNCATED = "KDUMP003", "kdump-bitmap-truncated", Error,
        "the bitmaps end before the header says they do";
    KDUMP_VERSION_UNKNOWN = "KDUMP004", "kdump-version-unknown", Warning,
        "header_version is newer than 6; read as version 6";
    KDUMP_BITMAP_SHORT = "KDUMP005", "kdump-bitmap-short", Error,
        "max_mapnr needs more bits than the bitmaps hold; later PFNs read as not in the dump";
    KDUMP_NOTES_UNREADABLE = "KDUMP006", "kdump-notes-unreadable", Error,
        "the sub-header's note blob cannot be read";
    KDUMP_VMCOREINFO_UNREADABLE = "KDUMP007", "kdump-vmcoreinfo-unreadable", Error,
        "the sub-header's VMCOREINFO cannot be read";
    KDUMP_SPLIT_PART = "KDUMP008", "kdump-split-part", Info,
        "the file is one part of a --split set and holds its own PFN range only";
    KDUMP_PAGES_LOST = "KDUMP009", "kdump-pages-lost", Error,
        "pages the bitmaps call dumpable have no page descriptor written";
    KDUMP_ERASEINFO = "KDUMP010", "kdump-eraseinfo", Warning,
        "makedumpfile erased data (--config eraseinfo) before writing the dump";
    KDUMP_STATUS_COMPRESSION = "KDUMP011", "kdump-status-compression", Warning,
        "status names several compression methods; each page's flags decide";
    SPLIT_SET_INCOMPLETE = "KDUMP012", "split-set-incomplete", Error,
        "no part of a --split set holds some PFNs: a part is missing";
    KDUMP_MAX_MAPNR_INCONSISTENT = "KDUMP013", "kdump-max-mapnr-inconsistent", Error,
        "the 32-bit max_mapnr disagrees with max_mapnr_64 or the bitmaps (not written by makedumpfile or QEMU)";
    // Flattened format (kdump/flat.rs, stream.rs).
    FLAT_TRUNCATED = "FLAT001", "flat-truncated", Error,
        "the flattened stream ends inside a record or without its end marker";
    FLAT_RECORD_BAD = "FLAT002", "flat-record-bad", Error,
        "a flattened record has a negative or impossible offset or size";
    FLAT_TRAILING_DATA = "FLAT003", "flat-trailing-data", Warning,
        "bytes follow the flattened stream's end marker";
    FLAT_VERSION_UNKNOWN = "FLAT004", "flat-version-unknown", Warning,
        "the flattened header's version is not one makedumpfile writes";
    FLAT_RECORDS_OVERLAP = "FLAT005", "flat-records-overlap", Info,
        "later flattened records rewrite bytes of earlier ones (the later ones win)";
    // Kernel log (klog.rs).
    KLOG_RING_SPAN = "KLOG001", "klog-ring-span", Error,
        "the printk ring's head and tail ids are inconsistent";
    KLOG_DESC_NOT_FINAL = "KLOG002", "klog-desc-not-final", Info,
        "descriptors were being written at the time of the dump; skipped";
    KLOG_DESC_ID_MISMATCH = "KLOG003", "klog-desc-id-mismatch", Warning,
        "descriptors hold another id than expected (overwritten or corrupt); skipped";
    KLOG_BAD_DATA_BLOCK = "KLOG004", "klog-bad-data-block", Warning,
        "records have an invalid text data block; skipped";
    KLOG_UNREADABLE = "KLOG005", "klog-unreadable", Warning,
        "log records could not be read from the dump";
    KLOG_SEQ_INCONSISTENT = "KLOG006", "klog-seq-inconsistent", Warning,
        "records have a sequence number that does not match their slot or goes backwards";
    KLOG_TEXT_TRUNCATED = "KLOG007", "klog-text-truncated", Info,
        "record texts are shorter than their text_len (the kernel truncated them)";
    KLOG_TEXT_OVERLAP = "KLOG008", "klog-text-overlap", Error,
        "text blocks of different records overlap";
    KLOG_LEGACY_CHAIN = "KLOG009", "klog-legacy-chain", Error,
        "the legacy log_buf record chain is broken or loops";
    KLOG_RECORDS_CAPPED = "KLOG010", "klog-records-capped", Warning,
        "the ring holds more records than MAX_LOG_RECORDS; the newest are decoded";
}
