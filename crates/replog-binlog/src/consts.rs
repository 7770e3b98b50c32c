//! Event type codes, column type codes and their names.
//!
//! Codes come from MySQL `libs/mysql/binlog/event/binlog_event.h`
//! (`Log_event_type`, `enum_field_types`) and MariaDB `sql/log_event.h`.

/// Event type codes (the byte at offset 4 of every event header).
pub mod event_type {
    #![allow(missing_docs)]
    pub const UNKNOWN: u8 = 0;
    pub const START_V3: u8 = 1;
    pub const QUERY: u8 = 2;
    pub const STOP: u8 = 3;
    pub const ROTATE: u8 = 4;
    pub const INTVAR: u8 = 5;
    pub const LOAD: u8 = 6;
    pub const SLAVE: u8 = 7;
    pub const CREATE_FILE: u8 = 8;
    pub const APPEND_BLOCK: u8 = 9;
    pub const EXEC_LOAD: u8 = 10;
    pub const DELETE_FILE: u8 = 11;
    pub const NEW_LOAD: u8 = 12;
    pub const RAND: u8 = 13;
    pub const USER_VAR: u8 = 14;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const BEGIN_LOAD_QUERY: u8 = 17;
    pub const EXECUTE_LOAD_QUERY: u8 = 18;
    pub const TABLE_MAP: u8 = 19;
    pub const PRE_GA_WRITE_ROWS: u8 = 20;
    pub const PRE_GA_UPDATE_ROWS: u8 = 21;
    pub const PRE_GA_DELETE_ROWS: u8 = 22;
    pub const WRITE_ROWS_V1: u8 = 23;
    pub const UPDATE_ROWS_V1: u8 = 24;
    pub const DELETE_ROWS_V1: u8 = 25;
    pub const INCIDENT: u8 = 26;
    pub const HEARTBEAT: u8 = 27;
    pub const IGNORABLE: u8 = 28;
    pub const ROWS_QUERY: u8 = 29;
    pub const WRITE_ROWS: u8 = 30;
    pub const UPDATE_ROWS: u8 = 31;
    pub const DELETE_ROWS: u8 = 32;
    pub const GTID: u8 = 33;
    pub const ANONYMOUS_GTID: u8 = 34;
    pub const PREVIOUS_GTIDS: u8 = 35;
    pub const TRANSACTION_CONTEXT: u8 = 36;
    pub const VIEW_CHANGE: u8 = 37;
    pub const XA_PREPARE: u8 = 38;
    pub const PARTIAL_UPDATE_ROWS: u8 = 39;
    pub const TRANSACTION_PAYLOAD: u8 = 40;
    pub const HEARTBEAT_V2: u8 = 41;
    pub const GTID_TAGGED: u8 = 42;
    pub const ANNOTATE_ROWS: u8 = 160;
    pub const BINLOG_CHECKPOINT: u8 = 161;
    pub const MARIA_GTID: u8 = 162;
    pub const GTID_LIST: u8 = 163;
    pub const START_ENCRYPTION: u8 = 164;
    pub const QUERY_COMPRESSED: u8 = 165;
    pub const WRITE_ROWS_COMPRESSED_V1: u8 = 166;
    pub const UPDATE_ROWS_COMPRESSED_V1: u8 = 167;
    pub const DELETE_ROWS_COMPRESSED_V1: u8 = 168;
    pub const WRITE_ROWS_COMPRESSED: u8 = 169;
    pub const UPDATE_ROWS_COMPRESSED: u8 = 170;
    pub const DELETE_ROWS_COMPRESSED: u8 = 171;
}

/// The name of an event type as `mariadb-binlog` and `SHOW BINLOG EVENTS`
/// print it (MariaDB `Log_event::get_type_str`), e.g. `Query`, `Table_map`,
/// `Write_rows_v1`, `Gtid`, `Xid`, `Format_desc`. Unknown codes give
/// `Unknown`.
pub fn type_name(code: u8) -> &'static str {
    use event_type::*;
    match code {
        START_V3 => "Start_v3",
        STOP => "Stop",
        QUERY => "Query",
        ROTATE => "Rotate",
        INTVAR => "Intvar",
        LOAD => "Load",
        NEW_LOAD => "New_load",
        SLAVE => "Slave",
        CREATE_FILE => "Create_file",
        APPEND_BLOCK => "Append_block",
        DELETE_FILE => "Delete_file",
        EXEC_LOAD => "Exec_load",
        RAND => "Rand",
        XID => "Xid",
        USER_VAR => "User_var",
        FORMAT_DESCRIPTION => "Format_desc",
        TABLE_MAP => "Table_map",
        PRE_GA_WRITE_ROWS => "Write_rows_event_old",
        PRE_GA_UPDATE_ROWS => "Update_rows_event_old",
        PRE_GA_DELETE_ROWS => "Delete_rows_event_old",
        WRITE_ROWS_V1 => "Write_rows_v1",
        UPDATE_ROWS_V1 => "Update_rows_v1",
        DELETE_ROWS_V1 => "Delete_rows_v1",
        WRITE_ROWS => "Write_rows",
        UPDATE_ROWS => "Update_rows",
        DELETE_ROWS => "Delete_rows",
        BEGIN_LOAD_QUERY => "Begin_load_query",
        EXECUTE_LOAD_QUERY => "Execute_load_query",
        INCIDENT => "Incident",
        HEARTBEAT | HEARTBEAT_V2 => "Heartbeat",
        IGNORABLE => "Ignorable",
        ROWS_QUERY => "Rows_query",
        GTID => "Gtid_log",
        ANONYMOUS_GTID => "Anonymous_Gtid",
        PREVIOUS_GTIDS => "Previous_gtids",
        TRANSACTION_CONTEXT => "Transaction_context",
        VIEW_CHANGE => "View_change",
        XA_PREPARE => "XA_prepare",
        PARTIAL_UPDATE_ROWS => "Update_rows_partial",
        TRANSACTION_PAYLOAD => "Transaction_payload",
        GTID_TAGGED => "Gtid_tagged_log",
        ANNOTATE_ROWS => "Annotate_rows",
        BINLOG_CHECKPOINT => "Binlog_checkpoint",
        MARIA_GTID => "Gtid",
        GTID_LIST => "Gtid_list",
        START_ENCRYPTION => "Start_encryption",
        QUERY_COMPRESSED => "Query_compressed",
        WRITE_ROWS_COMPRESSED_V1 => "Write_rows_compressed_v1",
        UPDATE_ROWS_COMPRESSED_V1 => "Update_rows_compressed_v1",
        DELETE_ROWS_COMPRESSED_V1 => "Delete_rows_compressed_v1",
        WRITE_ROWS_COMPRESSED => "Write_rows_compressed",
        UPDATE_ROWS_COMPRESSED => "Update_rows_compressed",
        DELETE_ROWS_COMPRESSED => "Delete_rows_compressed",
        _ => "Unknown",
    }
}

/// Column type codes (`enum_field_types`) as they appear in TABLE_MAP.
pub mod column_type {
    #![allow(missing_docs)]
    pub const DECIMAL: u8 = 0;
    pub const TINY: u8 = 1;
    pub const SHORT: u8 = 2;
    pub const LONG: u8 = 3;
    pub const FLOAT: u8 = 4;
    pub const DOUBLE: u8 = 5;
    pub const NULL: u8 = 6;
    pub const TIMESTAMP: u8 = 7;
    pub const LONGLONG: u8 = 8;
    pub const INT24: u8 = 9;
    pub const DATE: u8 = 10;
    pub const TIME: u8 = 11;
    pub const DATETIME: u8 = 12;
    pub const YEAR: u8 = 13;
    pub const NEWDATE: u8 = 14;
    pub const VARCHAR: u8 = 15;
    pub const BIT: u8 = 16;
    pub const TIMESTAMP2: u8 = 17;
    pub const DATETIME2: u8 = 18;
    pub const TIME2: u8 = 19;
    pub const TYPED_ARRAY: u8 = 20;
    /// MariaDB compressed BLOB column.
    pub const BLOB_COMPRESSED: u8 = 140;
    /// MariaDB compressed VARCHAR column.
    pub const VARCHAR_COMPRESSED: u8 = 141;
    pub const VECTOR: u8 = 242;
    pub const JSON: u8 = 245;
    pub const NEWDECIMAL: u8 = 246;
    pub const ENUM: u8 = 247;
    pub const SET: u8 = 248;
    pub const TINY_BLOB: u8 = 249;
    pub const MEDIUM_BLOB: u8 = 250;
    pub const LONG_BLOB: u8 = 251;
    pub const BLOB: u8 = 252;
    pub const VAR_STRING: u8 = 253;
    pub const STRING: u8 = 254;
    pub const GEOMETRY: u8 = 255;
}

/// SQL-ish name of a column type code, for messages.
pub fn column_type_name(code: u8) -> &'static str {
    use column_type::*;
    match code {
        DECIMAL => "DECIMAL(old)",
        TINY => "TINYINT",
        SHORT => "SMALLINT",
        LONG => "INT",
        FLOAT => "FLOAT",
        DOUBLE => "DOUBLE",
        NULL => "NULL",
        TIMESTAMP => "TIMESTAMP(old)",
        LONGLONG => "BIGINT",
        INT24 => "MEDIUMINT",
        DATE => "DATE",
        TIME => "TIME(old)",
        DATETIME => "DATETIME(old)",
        YEAR => "YEAR",
        NEWDATE => "NEWDATE",
        VARCHAR => "VARCHAR",
        BIT => "BIT",
        TIMESTAMP2 => "TIMESTAMP",
        DATETIME2 => "DATETIME",
        TIME2 => "TIME",
        TYPED_ARRAY => "TYPED_ARRAY",
        BLOB_COMPRESSED => "BLOB COMPRESSED",
        VARCHAR_COMPRESSED => "VARCHAR COMPRESSED",
        VECTOR => "VECTOR",
        JSON => "JSON",
        NEWDECIMAL => "DECIMAL",
        ENUM => "ENUM",
        SET => "SET",
        TINY_BLOB => "TINYBLOB",
        MEDIUM_BLOB => "MEDIUMBLOB",
        LONG_BLOB => "LONGBLOB",
        BLOB => "BLOB",
        VAR_STRING => "VAR_STRING",
        STRING => "CHAR",
        GEOMETRY => "GEOMETRY",
        _ => "UNKNOWN",
    }
}

/// Rows-event flag: end of statement.
pub const STMT_END_F: u16 = 0x0001;

/// The `binary` character set/collation number.
pub const BINARY_CHARSET: u16 = 63;
