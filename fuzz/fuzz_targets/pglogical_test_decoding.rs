#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    replog_pglogical::fuzz_support::fuzz_test_decoding(data);
});
