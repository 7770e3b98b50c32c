#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    replog_pgrepl::fuzz_support::fuzz_copydata(data);
});
