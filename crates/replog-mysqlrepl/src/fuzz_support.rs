//! Pure entry points for fuzzing (wired into cargo-fuzz targets in
//! `fuzz/`). Each must never panic, whatever the input.

use crate::wire;

/// Reads packets from arbitrary bytes (a small payload limit, so limits
/// are hit) and parses each payload as every server message the client
/// reads: handshake, authentication answer, ERR, result set.
pub fn fuzz_packets(data: &[u8]) {
    let mut r = wire::PacketReader::new(data, 1 << 16);
    let mut payloads: Vec<(u64, Vec<u8>)> = Vec::new();
    // Sequence numbers are checked: accept whatever the input starts with.
    if let Some(&seq) = data.get(3) {
        r.seq = seq;
    }
    while let Ok(Some((at, p))) = r.next_packet() {
        payloads.push((at, p.to_vec()));
        if payloads.len() > 64 {
            break;
        }
    }
    for (at, p) in &payloads {
        let _ = wire::parse_handshake(p, *at);
        let _ = wire::parse_auth_reply(p, *at);
        let _ = wire::server_error(p, *at, "fuzzing");
    }
    let mut rest = payloads.into_iter();
    if let Some((at, first)) = rest.next() {
        let _ = wire::read_result_set((at, &first), || {
            rest.next()
                .ok_or_else(|| replog_core::Error::malformed(0, "no more packets"))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoke() {
        replog_test_support::smoke(0x6d79, 400, 300, |rng, input| {
            fuzz_packets(input);
            // Well-framed packets with random payloads reach the parsers.
            let mut framed = Vec::new();
            let mut seq = 0;
            for chunk in input.chunks(1 + rng.below(40)) {
                seq = wire::frame(&mut framed, chunk, seq);
            }
            fuzz_packets(&framed);
        });
    }
}
