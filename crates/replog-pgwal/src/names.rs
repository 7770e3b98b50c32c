//! Resource manager and record type names, per version, as pg_waldump and
//! pg_walinspect print them (each manager's `identify` function).

use crate::consts::{PgVersion, RMGR_NAMES, rmgr};

/// The name of resource manager `rmid` (`custom###` for ids without one).
pub fn rmgr_name(rmid: u8) -> std::borrow::Cow<'static, str> {
    match RMGR_NAMES.get(usize::from(rmid)) {
        Some(n) => std::borrow::Cow::Borrowed(n),
        None => std::borrow::Cow::Owned(format!("custom{rmid:03}")),
    }
}

/// The record type name for `info` (the record's `xl_info`) of manager
/// `rmid` in `version`, or `None` where pg_waldump prints `UNKNOWN`.
pub fn record_type(version: PgVersion, rmid: u8, info: u8) -> Option<&'static str> {
    use PgVersion::*;
    let op = info & 0xF0;
    Some(match rmid {
        rmgr::XLOG => match op {
            0x00 => "CHECKPOINT_SHUTDOWN",
            0x10 => "CHECKPOINT_ONLINE",
            0x20 => "NOOP",
            0x30 => "NEXTOID",
            0x40 => "SWITCH",
            0x50 => "BACKUP_END",
            0x60 => "PARAMETER_CHANGE",
            0x70 => "RESTORE_POINT",
            0x80 => "FPW_CHANGE",
            0x90 => "END_OF_RECOVERY",
            0xA0 => "FPI_FOR_HINT",
            0xB0 => "FPI",
            0xD0 if version >= V14 => "OVERWRITE_CONTRECORD",
            0xE0 if version >= V17 => "CHECKPOINT_REDO",
            _ => return None,
        },
        rmgr::XACT => match info & 0x70 {
            0x00 => "COMMIT",
            0x10 => "PREPARE",
            0x20 => "ABORT",
            0x30 => "COMMIT_PREPARED",
            0x40 => "ABORT_PREPARED",
            0x50 => "ASSIGNMENT",
            0x60 if version >= V14 => "INVALIDATION",
            _ => return None,
        },
        rmgr::SMGR => match op {
            0x10 => "CREATE",
            0x20 => "TRUNCATE",
            _ => return None,
        },
        rmgr::CLOG | rmgr::COMMIT_TS => match op {
            0x00 => "ZEROPAGE",
            0x10 => "TRUNCATE",
            _ => return None,
        },
        rmgr::DBASE => match op {
            0x00 if version >= V15 => "CREATE_FILE_COPY",
            0x00 => "CREATE",
            0x10 if version >= V15 => "CREATE_WAL_LOG",
            0x10 => "DROP",
            0x20 if version >= V15 => "DROP",
            _ => return None,
        },
        rmgr::TBLSPC => match op {
            0x00 => "CREATE",
            0x10 => "DROP",
            _ => return None,
        },
        rmgr::MULTIXACT => match op {
            0x00 => "ZERO_OFF_PAGE",
            0x10 => "ZERO_MEM_PAGE",
            0x20 => "CREATE_ID",
            0x30 => "TRUNCATE_ID",
            _ => return None,
        },
        rmgr::RELMAP => match op {
            0x00 => "UPDATE",
            _ => return None,
        },
        rmgr::STANDBY => match op {
            0x00 => "LOCK",
            0x10 => "RUNNING_XACTS",
            0x20 => "INVALIDATIONS",
            _ => return None,
        },
        rmgr::HEAP2 => {
            let init = info & 0x80 != 0;
            match (info & 0x70, init) {
                (0x00, false) => "REWRITE",
                (0x10, false) => match version {
                    V13 => "CLEAN",
                    V14 | V15 | V16 => "PRUNE",
                    _ => "PRUNE_ON_ACCESS",
                },
                (0x20, false) => match version {
                    V13 => "FREEZE_PAGE",
                    V14 | V15 | V16 => "VACUUM",
                    _ => "PRUNE_VACUUM_SCAN",
                },
                (0x30, false) => match version {
                    V13 => "CLEANUP_INFO",
                    V14 | V15 | V16 => "FREEZE_PAGE",
                    _ => "PRUNE_VACUUM_CLEANUP",
                },
                (0x40, false) => "VISIBLE",
                (0x50, false) => "MULTI_INSERT",
                (0x50, true) => "MULTI_INSERT+INIT",
                (0x60, false) => "LOCK_UPDATED",
                (0x70, false) => "NEW_CID",
                _ => return None,
            }
        }
        rmgr::HEAP => {
            let init = info & 0x80 != 0;
            match (info & 0x70, init) {
                (0x00, false) => "INSERT",
                (0x00, true) => "INSERT+INIT",
                (0x10, _) => "DELETE",
                (0x20, false) => "UPDATE",
                (0x20, true) => "UPDATE+INIT",
                (0x30, _) => "TRUNCATE",
                (0x40, false) => "HOT_UPDATE",
                (0x40, true) => "HOT_UPDATE+INIT",
                (0x50, _) => "CONFIRM",
                (0x60, _) => "LOCK",
                (0x70, _) => "INPLACE",
                _ => return None,
            }
        }
        rmgr::BTREE => match op {
            0x00 => "INSERT_LEAF",
            0x10 => "INSERT_UPPER",
            0x20 => "INSERT_META",
            0x30 => "SPLIT_L",
            0x40 => "SPLIT_R",
            0x50 => "INSERT_POST",
            0x60 => "DEDUP",
            0x70 => "DELETE",
            0x80 => "UNLINK_PAGE",
            0x90 => "UNLINK_PAGE_META",
            0xA0 => "NEWROOT",
            0xB0 => "MARK_PAGE_HALFDEAD",
            0xC0 => "VACUUM",
            0xD0 => "REUSE_PAGE",
            0xE0 => "META_CLEANUP",
            _ => return None,
        },
        rmgr::HASH => match op {
            0x00 => "INSERT",
            0x10 => "ADD_OVFL_PAGE",
            0x20 => "SPLIT_ALLOCATE_PAGE",
            0x30 => "SPLIT_PAGE",
            0x40 => "SPLIT_COMPLETE",
            0x50 => "MOVE_PAGE_CONTENTS",
            0x60 => "SQUEEZE_PAGE",
            0x70 => "DELETE",
            0x80 => "SPLIT_CLEANUP",
            0x90 => "UPDATE_META_PAGE",
            0xA0 => "INIT_META_PAGE",
            0xB0 => "INIT_BITMAP_PAGE",
            0xC0 => "VACUUM",
            _ => return None,
        },
        rmgr::GIN => match op {
            0x00 => "CREATE_PTREE",
            0x10 => "INSERT",
            0x30 => "SPLIT",
            0x40 => "VACUUM_PAGE",
            0x50 => "VACUUM_DATA_LEAF_PAGE",
            0x60 => "DELETE_PAGE",
            0x70 => "UPDATE_META_PAGE",
            0x80 => "INSERT_LISTPAGE",
            0x90 => "DELETE_LISTPAGE",
            _ => return None,
        },
        rmgr::GIST => match op {
            0x00 => "PAGE_UPDATE",
            0x10 => "DELETE",
            0x20 => "PAGE_REUSE",
            0x30 => "PAGE_SPLIT",
            0x50 => "PAGE_DELETE",
            0x60 if version >= V15 => "ASSIGN_LSN",
            _ => return None,
        },
        rmgr::SEQ => match op {
            0x00 => "LOG",
            _ => return None,
        },
        rmgr::SPGIST => match op {
            0x10 => "ADD_LEAF",
            0x20 => "MOVE_LEAFS",
            0x30 => "ADD_NODE",
            0x40 => "SPLIT_TUPLE",
            0x50 => "PICKSPLIT",
            0x60 => "VACUUM_LEAF",
            0x70 => "VACUUM_ROOT",
            0x80 => "VACUUM_REDIRECT",
            _ => return None,
        },
        rmgr::BRIN => match (info & 0x70, info & 0x80 != 0) {
            (0x00, _) => "CREATE_INDEX",
            (0x10, false) => "INSERT",
            (0x10, true) => "INSERT+INIT",
            (0x20, false) => "UPDATE",
            (0x20, true) => "UPDATE+INIT",
            (0x30, _) => "SAMEPAGE_UPDATE",
            (0x40, _) => "REVMAP_EXTEND",
            (0x50, _) => "DESUMMARIZE",
            _ => return None,
        },
        rmgr::REPLORIGIN => match op {
            0x00 => "SET",
            0x10 => "DROP",
            _ => return None,
        },
        rmgr::GENERIC => "Generic",
        rmgr::LOGICALMSG => match op {
            0x00 => "MESSAGE",
            _ => return None,
        },
        _ => return None,
    })
}
