//! Every finding code `elfcorehdr` reports, registered once (`docs/findings.md` is checked
//! against [`CODES`] by a test): `EHDR*` from [`Elfcorehdr::parse`](crate::Elfcorehdr::parse),
//! `VER*` from [`verify::compare`](crate::verify::compare).

kdump_types::finding_codes! {
    // Raw elfcorehdr parse (parse.rs).
    NOT_ET_CORE = "EHDR001", "not-et-core", Error,
        "e_type is not ET_CORE";
    NOT_X86_64 = "EHDR002", "not-x86-64", Warning,
        "e_machine is not EM_X86_64, the only machine the engine builds for";
    BAD_VERSION = "EHDR003", "bad-version", Error,
        "e_ident[EI_VERSION] or e_version is not EV_CURRENT";
    BAD_EHSIZE = "EHDR004", "bad-ehsize", Error,
        "e_ehsize or e_phentsize is not the ELF64 size";
    NO_PHDRS = "EHDR005", "no-phdrs", Error,
        "e_phnum is 0";
    UNUSUAL_PHOFF = "EHDR006", "unusual-phoff", Info,
        "the program headers do not follow the ELF header as the kernel writes them";
    UNUSUAL_EHDR_FIELDS = "EHDR007", "unusual-ehdr-fields", Info,
        "e_entry, e_shoff, e_flags or e_shnum is not 0 as the kernel leaves them";
    NONZERO_IDENT_PAD = "EHDR008", "nonzero-ident-pad", Info,
        "e_ident's OS ABI or padding bytes are not 0";
    NO_NOTES = "EHDR010", "no-notes", Error,
        "the header has no PT_NOTE: no registers, no VMCOREINFO";
    NO_CPU_NOTES = "EHDR011", "no-cpu-notes", Warning,
        "no PT_NOTE besides VMCOREINFO: no CPU's registers would be in the dump";
    UNUSUAL_NOTE_PHDR = "EHDR012", "unusual-note-phdr", Info,
        "a PT_NOTE has p_vaddr or p_flags the kernel does not write";
    EMPTY_NOTE = "EHDR013", "empty-note", Warning,
        "a PT_NOTE has size 0";
    UNUSUAL_LOAD_FLAGS = "EHDR014", "unusual-load-flags", Info,
        "a PT_LOAD's p_flags are not RWX as the kernel writes them";
    EMPTY_LOAD = "EHDR015", "empty-load", Warning,
        "a PT_LOAD has size 0";
    LOAD_WRAPS = "EHDR016", "load-wraps", Error,
        "a PT_LOAD wraps around the address space";
    UNEXPECTED_PHDR_TYPE = "EHDR017", "unexpected-phdr-type", Warning,
        "a program header is neither PT_NOTE nor PT_LOAD";
    OFFSET_NOT_PADDR = "EHDR018", "offset-not-paddr", Warning,
        "p_offset differs from p_paddr (in a raw elfcorehdr p_offset is the physical address)";
    FILESZ_NOT_MEMSZ = "EHDR019", "filesz-not-memsz", Warning,
        "p_filesz differs from p_memsz";
    NONZERO_ALIGN = "EHDR020", "nonzero-align", Info,
        "p_align is not 0 as the kernel writes it";
    LOAD_BEFORE_NOTE = "EHDR021", "load-before-note", Warning,
        "a PT_LOAD comes before a PT_NOTE; the kernel writes notes first";
    KTEXT_NOT_FIRST_LOAD = "EHDR022", "ktext-not-first-load", Info,
        "the kernel text PT_LOAD is not the first PT_LOAD";
    NO_KERNEL_TEXT = "EHDR023", "no-kernel-text", Warning,
        "no PT_LOAD maps the kernel text";
    RAM_OVERLAP_OR_UNSORTED = "EHDR024", "ram-overlap-or-unsorted", Warning,
        "RAM PT_LOADs overlap or are not sorted by address";
    NO_RAM = "EHDR025", "no-ram", Error,
        "no RAM PT_LOAD: the dump would hold no memory";
    DIRECT_MAP_MISMATCH = "EHDR026", "direct-map-mismatch", Warning,
        "RAM PT_LOADs disagree on the direct-map base (p_vaddr - p_paddr)";
    NONZERO_TAIL = "EHDR027", "nonzero-tail", Info,
        "non-zero bytes follow the program headers (stale header data)";
    // Header versus state (verify.rs).
    CPU_NOTE_MISSING = "VER001", "cpu-note-missing", Error,
        "a possible CPU has no PT_NOTE: its registers would be missing from the dump";
    CPU_NOTE_STALE = "VER002", "cpu-note-stale", Warning,
        "a PT_NOTE beyond the possible CPUs";
    CPU_NOTE_ADDRESS = "VER003", "cpu-note-address", Error,
        "a CPU's PT_NOTE points elsewhere than its crash_notes buffer";
    VMCOREINFO = "VER004", "vmcoreinfo", Error,
        "the VMCOREINFO PT_NOTE is missing or points elsewhere than the state's";
    KERNEL_TEXT = "VER005", "kernel-text", Error,
        "the kernel text PT_LOAD is missing or differs from the state's";
    RAM_MISSING = "VER006", "ram-missing", Error,
        "RAM of the state is covered by no PT_LOAD";
    RAM_STALE = "VER007", "ram-stale", Error,
        "a PT_LOAD describes RAM the state does not have";
    DIRECT_MAP = "VER008", "direct-map", Warning,
        "the direct-map base differs from the state's";
    BYTES_DIFFER = "VER009", "bytes-differ", Warning,
        "the header is not byte for byte what the kernel would write for the state";
}
