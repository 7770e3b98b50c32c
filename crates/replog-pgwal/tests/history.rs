//! Pages are checked against the timeline history.

mod common;

use common::*;
use replog_pgwal::history::TimelineHistory;
use replog_pgwal::{ErrorKind, Lsn, WalReader};

#[test]
fn a_page_on_the_wrong_timeline_for_the_history_is_damage() {
    let dir = fixtures().join("debian-15");
    let segs = segments(&dir);
    // Timeline 2 branching off timeline 1 after the end of this WAL: every
    // page is on timeline 1, as its header says.
    let later = TimelineHistory::parse(2, "00000002.history", "1\t1/0\tlater\n").unwrap();
    let mut r = WalReader::new(inputs(&segs)).with_history(later);
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert!(n > 6000);
    // Branching in the middle: the pages after the switch point still say
    // timeline 1.
    let first = info(&dir, "start_lsn");
    let switch = Lsn(Lsn::parse(&first).unwrap().0 + 3 * 8192 + 100);
    let text = format!("1\t{switch}\tpromoted\n");
    let mid = TimelineHistory::parse(2, "00000002.history", &text).unwrap();
    let mut r = WalReader::new(inputs(&segs)).with_history(mid);
    let e = loop {
        match r.next_record() {
            Ok(Some(rec)) => assert!(rec.lsn.0 < switch.0 + 8192, "{}", rec.lsn),
            Ok(None) => panic!("no error"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.kind(), ErrorKind::History);
    assert!(e.to_string().contains("puts"), "{e}");
    // The first page that starts at or after the switch point.
    let page = (switch.0 / 8192 + 1) * 8192;
    assert_eq!(e.lsn(), Some(Lsn(page)), "{e}");
}
