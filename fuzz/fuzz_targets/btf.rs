//! The BTF reader never panics and never reads outside its input: any
//! bytes are either refused at the header or walked record by record with
//! ids counting from 1, names looked up inside the string section, and a
//! function found by name the first of that name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::fuzz_internals::check_btf;

fuzz_target!(|data: &[u8]| {
    check_btf(data);
});
