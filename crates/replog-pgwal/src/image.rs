//! Full-page images: decompression (pglz, lz4, zstd) and restoring the hole.

use crate::consts::{FORK_NAMES, ImageCompression};
use crate::error::{Error, ErrorKind, Result};
use crate::record::{BlockHeader, ImageHeader, Lsn};

/// Decompresses PostgreSQL's pglz format into `out`, which must be filled
/// exactly (`replog_pgtype::pglz::decompress`, with this crate's error).
pub fn pglz_decompress(src: &[u8], out: &mut [u8]) -> Result<()> {
    replog_pgtype::pglz::decompress(src, out).map_err(|m| Error::new(ErrorKind::Image, m))
}

/// Restores the page an image describes into `page` (resized to
/// `block_size`): decompresses the stored bytes and puts the hole back as
/// zeros. `stored` is the image as the record carries it.
pub fn restore_page(
    image: &ImageHeader,
    stored: &[u8],
    block_size: u32,
    page: &mut Vec<u8>,
) -> Result<()> {
    let bs = block_size as usize;
    let hole_off = usize::from(image.hole_offset);
    let hole_len = usize::from(image.hole_length);
    let body_len = bs
        .checked_sub(hole_len)
        .ok_or_else(|| Error::new(ErrorKind::Image, "image hole larger than the page"))?;
    page.clear();
    page.resize(bs, 0);
    {
        // Decompress (or copy) the page without its hole into the front,
        // then move the part after the hole into place.
        let front = &mut page[..body_len];
        match image.compression {
            ImageCompression::None => {
                if stored.len() != body_len {
                    return Err(Error::new(
                        ErrorKind::Image,
                        format!("image of {} bytes, expected {body_len}", stored.len()),
                    ));
                }
                front.copy_from_slice(stored);
            }
            ImageCompression::Pglz => pglz_decompress(stored, front)?,
            ImageCompression::Lz4 => {
                let n = lz4_flex::block::decompress_into(stored, front)
                    .map_err(|e| Error::new(ErrorKind::Image, format!("lz4: {e}")))?;
                if n != body_len {
                    return Err(Error::new(
                        ErrorKind::Image,
                        format!("lz4: produced {n} of {body_len} bytes"),
                    ));
                }
            }
            ImageCompression::Zstd => {
                let n = zstd::bulk::decompress_to_buffer(stored, front)
                    .map_err(|e| Error::new(ErrorKind::Image, format!("zstd: {e}")))?;
                if n != body_len {
                    return Err(Error::new(
                        ErrorKind::Image,
                        format!("zstd: produced {n} of {body_len} bytes"),
                    ));
                }
            }
        }
    }
    if hole_len > 0 {
        if hole_off > body_len {
            return Err(Error::new(
                ErrorKind::Image,
                "image hole starts past the image",
            ));
        }
        page.copy_within(hole_off..body_len, hole_off + hole_len);
        page[hole_off..hole_off + hole_len].fill(0);
    }
    Ok(())
}

/// The file name `pg_waldump --save-fullpage` (PostgreSQL 16 and later)
/// gives the image of `block` in the record at `lsn`, read from a segment of
/// `timeline`: `TTTTTTTT-XXXXXXXX-XXXXXXXX.SPC.DB.REL.BLK_FORK`, the timeline
/// and the two halves of the LSN in upper-case hexadecimal, then the
/// relation, block number and fork name (`_main`, `_fsm`, `_vm`, `_init`).
/// `None` for a fork number PostgreSQL does not have.
pub fn fullpage_file_name(timeline: u32, lsn: Lsn, block: &BlockHeader) -> Option<String> {
    let fork = FORK_NAMES.get(usize::from(block.fork))?;
    let r = block.rel;
    Some(format!(
        "{timeline:08X}-{:08X}-{:08X}.{}.{}.{}.{}_{fork}",
        lsn.0 >> 32,
        lsn.0 as u32,
        r.spc,
        r.db,
        r.rel,
        block.block
    ))
}

#[cfg(test)]
mod name_tests {
    use super::*;
    use crate::RelFileLocator;

    #[test]
    fn fullpage_names_as_pg_waldump_16() {
        let mut b = BlockHeader {
            id: 0,
            fork: 0,
            flags: 0x10,
            rel: RelFileLocator {
                spc: 1663,
                db: 5,
                rel: 16384,
            },
            block: 7,
            image: None,
            data: 0..0,
        };
        let lsn = Lsn(0x1_0000_0000 | 0x0160_0028);
        assert_eq!(
            fullpage_file_name(2, lsn, &b).unwrap(),
            "00000002-00000001-01600028.1663.5.16384.7_main"
        );
        b.fork = 2;
        assert_eq!(
            fullpage_file_name(1, Lsn(0x28), &b).unwrap(),
            "00000001-00000000-00000028.1663.5.16384.7_vm"
        );
        b.fork = 4;
        assert_eq!(fullpage_file_name(1, lsn, &b), None);
    }
}
