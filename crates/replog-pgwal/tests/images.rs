//! Every full-page image of the committed WAL restores to a page: pglz, lz4
//! and zstd compressed and not, with and without holes.

mod common;

use common::*;
use replog_pgwal::image::restore_page;
use replog_pgwal::{ImageCompression, WalReader};

#[test]
fn every_image_restores_to_a_page_whose_lsn_is_not_after_the_record() {
    let mut seen = std::collections::BTreeMap::new();
    for dir in fixture_dirs() {
        let segs = segments(&dir);
        let mut r = WalReader::new(inputs(&segs));
        let mut page = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            for b in rec.blocks() {
                let (Some(img), Some(stored)) = (&b.header.image, b.image) else {
                    continue;
                };
                restore_page(img, stored, rec.block_size, &mut page)
                    .unwrap_or_else(|e| panic!("{} at {}: {e}", dir.display(), rec.lsn));
                assert_eq!(page.len(), rec.block_size as usize);
                // The page header's pd_lower/pd_upper frame the hole.
                let lower = u16::from_le_bytes([page[12], page[13]]);
                let upper = u16::from_le_bytes([page[14], page[15]]);
                if img.hole_length > 0 {
                    assert_eq!(img.hole_offset, lower, "{} at {}", dir.display(), rec.lsn);
                    assert_eq!(
                        img.hole_offset + img.hole_length,
                        upper,
                        "{} at {}",
                        dir.display(),
                        rec.lsn
                    );
                }
                // pd_lsn: the page was last changed at or before this record.
                let hi = u32::from_le_bytes(page[0..4].try_into().unwrap());
                let lo = u32::from_le_bytes(page[4..8].try_into().unwrap());
                let page_lsn = (u64::from(hi) << 32) | u64::from(lo);
                assert!(
                    page_lsn <= rec.lsn.0,
                    "{} at {}: page LSN {page_lsn:X}",
                    dir.display(),
                    rec.lsn
                );
                *seen
                    .entry((img.compression.name(), img.hole_length > 0))
                    .or_insert(0) += 1;
            }
        }
    }
    for c in [
        ImageCompression::None,
        ImageCompression::Pglz,
        ImageCompression::Lz4,
        ImageCompression::Zstd,
    ] {
        assert!(
            seen.keys().any(|(n, _)| *n == c.name()),
            "no {} image in the fixtures: {seen:?}",
            c.name()
        );
    }
    assert!(
        seen.keys().any(|(_, hole)| *hole) && seen.keys().any(|(_, hole)| !*hole),
        "{seen:?}"
    );
}
