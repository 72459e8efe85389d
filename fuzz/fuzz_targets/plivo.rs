#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pingate_fuzz::plivo(data));
