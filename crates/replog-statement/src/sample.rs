//! A small, fixed statement log covering every record type and every
//! context item: the committed fixture `fixtures/native/statement/sample.replog`.

use crate::{AutoIncrement, Charset, Context, RandSeed, Statement};
use replog_core::writer::{LogWriter, WriterOptions};
use replog_core::{Begin, Commit, Error, LogKind, Result, Value};
use std::borrow::Cow;
use std::io::Write;

/// Leader time of the first sample transaction: 2023-11-14 22:13:20 UTC, in µs.
pub const SAMPLE_EPOCH_US: i64 = 1_700_000_000_000_000;

/// The fixed writer options the committed sample was written with.
pub fn sample_options() -> WriterOptions {
    let mut o = WriterOptions::new(LogKind::Statement);
    o.log_id = *b"replog-stmt-smpl";
    o.store_id = 1;
    o.salt = 0x5354_4d54_5341_4d50; // "PMASTMTS" little-endian
    o.start_lsn = 0;
    o.start_seq = 0;
    o.start_state = None;
    o
}

/// Encodes `st` and appends it to `w`; returns its LSN.
pub fn append<W: Write>(w: &mut LogWriter<W>, st: &Statement<'_>) -> Result<u64> {
    let mut body = Vec::new();
    st.encode(&mut body)
        .map_err(|m| Error::malformed(w.segment_len(), format!("cannot encode STATEMENT: {m}")))?;
    w.append(&body)
}

fn begin<W: Write>(w: &mut LogWriter<W>, txid: u64, at: i64, origin: &str) -> Result<u64> {
    w.begin(&Begin {
        txid,
        timestamp_us: at,
        server_id: 1,
        origin,
    })
}

fn commit<W: Write>(w: &mut LogWriter<W>, txid: u64, at: i64) -> Result<u64> {
    w.commit(&Commit {
        txid,
        timestamp_us: at,
        state_before: None,
        state_after: None,
    })
}

/// The sample log as bytes ([`write_sample`] with [`sample_options`]).
pub fn sample_bytes() -> Result<Vec<u8>> {
    replog_core::writer::write_to_vec(&sample_options(), write_sample)
}

/// Writes the sample: four transactions.
///
/// 1. a raw `CREATE TABLE` with no context at all;
/// 2. an `INSERT` with database, timestamp, INSERT_ID, LAST_INSERT_ID, a user
///    variable and the origin (server and thread id);
/// 3. an `UPDATE` using `RAND()` and `NOW()` with the full session context
///    (sql_mode bits and text, time zone, auto-increment settings, charset,
///    error code 0), reading a NULL and a DECIMAL user variable;
/// 4. two statements, the second of which failed on the leader (error 1062).
pub fn write_sample<W: Write>(w: &mut LogWriter<W>) -> Result<()> {
    let t0 = SAMPLE_EPOCH_US;
    const SEC: i64 = 1_000_000;

    begin(w, 1, t0, "0-1-1")?;
    append(
        w,
        &Statement::new(
            "CREATE TABLE shop.items (id BIGINT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(40), price DECIMAL(10,2))",
        ),
    )?;
    commit(w, 1, t0 + 1_000)?;

    let t = t0 + SEC;
    begin(w, 2, t, "0-1-2")?;
    let mut cx = Context {
        database: Some("shop"),
        timestamp_us: Some(t),
        insert_id: Some(1),
        last_insert_id: Some(0),
        server_id: Some(1),
        thread_id: Some(42),
        ..Context::default()
    };
    cx.set_user_var("name", Value::Text(Cow::Borrowed("widget")));
    append(
        w,
        &Statement::new("INSERT INTO items (name, price) VALUES (@name, 9.99)").with_context(cx),
    )?;
    commit(w, 2, t + 500)?;

    let t = t0 + 2 * SEC;
    begin(w, 3, t, "0-1-3")?;
    let mut cx = Context {
        database: Some("shop"),
        timestamp_us: Some(t),
        rand_seed: Some(RandSeed {
            seed1: 0x1234_5678,
            seed2: 0x9abc_def0,
        }),
        sql_mode: Some(0x4000_0000 | 0x0020_0000),
        sql_mode_text: Some("STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"),
        time_zone: Some("+00:00"),
        auto_increment: Some(AutoIncrement {
            increment: 1,
            offset: 1,
        }),
        charset: Some(Charset {
            client: 255,
            connection: 255,
            server: 255,
        }),
        error_code: Some(0),
        server_id: Some(1),
        thread_id: Some(42),
        ..Context::default()
    };
    cx.set_user_var("discount", Value::Decimal(Cow::Borrowed("0.10")));
    cx.set_user_var("note", Value::Null);
    append(
        w,
        &Statement::new("UPDATE items SET price = price * (1 - @discount), seen = NOW(), r = RAND(), note = @note WHERE id = 1")
            .with_context(cx),
    )?;
    commit(w, 3, t + 250)?;

    let t = t0 + 3 * SEC;
    begin(w, 4, t, "0-1-4")?;
    let cx = Context {
        database: Some("shop"),
        timestamp_us: Some(t),
        insert_id: Some(2),
        user_vars: Some(Vec::new()),
        error_code: Some(0),
        ..Context::default()
    };
    append(
        w,
        &Statement::new("INSERT INTO items (name, price) VALUES ('gadget', 5.00)").with_context(cx),
    )?;
    let cx = Context {
        database: Some("shop"),
        timestamp_us: Some(t + 10),
        insert_id: Some(3),
        error_code: Some(1062),
        ..Context::default()
    };
    append(
        w,
        &Statement::new("INSERT INTO items (id, name, price) VALUES (1, 'dup', 1.00)")
            .with_context(cx),
    )?;
    commit(w, 4, t + 300)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StatementFormat;
    use replog_core::record::{Record, decode_segment};

    #[test]
    fn sample_matches_committed_fixture() {
        let fixture = replog_test_support::root().join("fixtures/native/statement/sample.replog");
        replog_test_support::bless::check(&fixture, &sample_bytes().unwrap());
    }

    #[test]
    fn sample_reads_back_with_brackets() {
        let bytes = sample_bytes().unwrap();
        let (_, records) = decode_segment::<StatementFormat>(&bytes, 0).unwrap();
        let (mut statements, mut commits, mut masks) = (0, 0, Vec::new());
        for r in records {
            match r {
                Record::Begin(_) => {}
                Record::Commit(_) => commits += 1,
                Record::Data(st) => {
                    statements += 1;
                    masks.push(st.context.mask());
                }
            }
        }
        assert_eq!((statements, commits), (5, 4));
        assert_eq!(masks[0], 0, "first statement is raw");
        assert_eq!(
            masks.iter().fold(0, |a, m| a | m),
            crate::ctx::KNOWN,
            "every context item appears"
        );
    }
}
