//! Page descriptors (`struct page_desc`) and page decompression.
//!
//! Each method uses a well-kept crate (flate2, rust-lzo, snap, zstd); nothing here decodes a
//! compressed stream by hand. Decompressor state that is costly to set up (zlib's inflate
//! window, zstd's context) is kept per thread, so parallel scans do not contend on it.

use std::cell::RefCell;

use kdump_types::ByteOrder;

use super::header::{
    COMPRESSION_MASK, DUMP_DH_COMPRESSED_LZO, DUMP_DH_COMPRESSED_SNAPPY, DUMP_DH_COMPRESSED_ZLIB,
    DUMP_DH_COMPRESSED_ZSTD,
};

/// `sizeof(struct page_desc)` on LP64.
pub const PAGE_DESC_SIZE: u64 = 24;

/// `struct page_desc`: where one dumpable page's data is and how it is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageDesc {
    /// `offset` (`off_t`): image offset of the page data; 0 in a descriptor that was never
    /// written (incomplete dump), negative values are invalid.
    pub offset: i64,
    /// `size`: stored bytes (compressed size, or the page size for a raw page).
    pub size: u32,
    /// `flags`: one `DUMP_DH_COMPRESSED_*` bit, or 0 for a raw page.
    pub flags: u32,
    /// `page_flags`: unused by readers (0 in makedumpfile and QEMU).
    pub page_flags: u64,
}

impl PageDesc {
    /// Decode 24 bytes written in `order`.
    pub fn from_bytes(b: &[u8; 24], order: ByteOrder) -> PageDesc {
        let [
            o0,
            o1,
            o2,
            o3,
            o4,
            o5,
            o6,
            o7,
            s0,
            s1,
            s2,
            s3,
            f0,
            f1,
            f2,
            f3,
            p @ ..,
        ] = *b;
        PageDesc {
            offset: order.u64([o0, o1, o2, o3, o4, o5, o6, o7]) as i64,
            size: order.u32([s0, s1, s2, s3]),
            flags: order.u32([f0, f1, f2, f3]),
            page_flags: order.u64(p),
        }
    }
    /// Why the descriptor cannot describe a page of `page_size` bytes, if it cannot.
    pub fn problem(&self, page_size: u32) -> Option<(&'static str, u64, &'static str)> {
        if self.offset < 0 {
            return Some((
                "page_desc.offset",
                self.offset as u64,
                "negative file offset",
            ));
        }
        if self.flags & !COMPRESSION_MASK != 0 || (self.flags & COMPRESSION_MASK).count_ones() > 1 {
            return Some((
                "page_desc.flags",
                u64::from(self.flags),
                "not one DUMP_DH_COMPRESSED_* method",
            ));
        }
        if self.size == 0 {
            return Some(("page_desc.size", 0, "empty page data"));
        }
        // makedumpfile stores a page raw whenever compression does not make it smaller, so
        // compressed data is never larger than a page (crash rejects the same).
        if self.size > page_size {
            return Some(("page_desc.size", u64::from(self.size), "larger than a page"));
        }
        if self.flags == 0 && self.size != page_size {
            return Some((
                "page_desc.size",
                u64::from(self.size),
                "a raw page must be exactly one page",
            ));
        }
        None
    }
}

thread_local! {
    static INFLATE: RefCell<Option<flate2::Decompress>> = const { RefCell::new(None) };
    static ZSTD: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// Decompress `src` (stored with `flags`) into exactly `dst.len()` bytes. On failure returns
/// the method name and the decompressor's reason.
pub fn decompress(flags: u32, src: &[u8], dst: &mut [u8]) -> Result<(), (&'static str, String)> {
    let want = dst.len();
    let short = |what: &'static str, got: usize| {
        Err((
            what,
            format!("produced {got} bytes, a page is {want} bytes"),
        ))
    };
    match flags {
        0 => {
            if src.len() != want {
                return short("raw", src.len());
            }
            dst.copy_from_slice(src);
            Ok(())
        }
        DUMP_DH_COMPRESSED_ZLIB => INFLATE.with(|cell| {
            let mut slot = cell.borrow_mut();
            let z = slot.get_or_insert_with(|| flate2::Decompress::new(true));
            z.reset(true);
            match z.decompress(src, dst, flate2::FlushDecompress::Finish) {
                Ok(flate2::Status::StreamEnd) if z.total_out() as usize == want => Ok(()),
                Ok(flate2::Status::StreamEnd) => short("zlib", z.total_out() as usize),
                Ok(_) => Err((
                    "zlib",
                    format!(
                        "stream does not end within one page ({} of {} input bytes used)",
                        z.total_in(),
                        src.len()
                    ),
                )),
                Err(e) => Err(("zlib", e.to_string())),
            }
        }),
        DUMP_DH_COMPRESSED_LZO => {
            let (out, err) = rust_lzo::LZOContext::decompress_to_slice(src, dst);
            let got = out.len();
            match err {
                rust_lzo::LZOError::OK if got == want => Ok(()),
                rust_lzo::LZOError::OK => short("lzo", got),
                e => Err(("lzo", lzo_error_name(&e).to_string())),
            }
        }
        DUMP_DH_COMPRESSED_SNAPPY => {
            match snap::raw::decompress_len(src) {
                Ok(n) if n == want => {}
                Ok(n) => return short("snappy", n),
                Err(e) => return Err(("snappy", e.to_string())),
            }
            match snap::raw::Decoder::new().decompress(src, dst) {
                Ok(n) if n == want => Ok(()),
                Ok(n) => short("snappy", n),
                Err(e) => Err(("snappy", e.to_string())),
            }
        }
        DUMP_DH_COMPRESSED_ZSTD => ZSTD.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.is_none() {
                *slot = Some(
                    zstd::bulk::Decompressor::new()
                        .map_err(|e| ("zstd", format!("cannot create a context: {e}")))?,
                );
            }
            let Some(z) = slot.as_mut() else {
                return Err(("zstd", "no context".to_string()));
            };
            match z.decompress_to_buffer(src, dst) {
                Ok(n) if n == want => Ok(()),
                Ok(n) => short("zstd", n),
                Err(e) => Err(("zstd", e.to_string())),
            }
        }),
        _ => Err((
            "unknown",
            format!("page flags {flags:#x} name no single method"),
        )),
    }
}

fn lzo_error_name(e: &rust_lzo::LZOError) -> &'static str {
    use rust_lzo::LZOError as E;
    match e {
        E::OK => "ok",
        E::ERROR => "error",
        E::OUT_OF_MEMORY => "out of memory",
        E::NOT_COMPRESSIBLE => "not compressible",
        E::INPUT_OVERRUN => "input overrun (data cut short)",
        E::OUTPUT_OVERRUN => "output overrun (more than one page)",
        E::LOOKBEHIND_OVERRUN => "look-behind overrun (corrupt data)",
        E::EOF_NOT_FOUND => "end of stream not found",
        E::INPUT_NOT_CONSUMED => "input not consumed",
        E::NOT_YET_IMPLEMENTED => "not implemented",
        E::INVALID_ARGUMENT => "invalid argument",
    }
}
