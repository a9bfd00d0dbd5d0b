//! The filter expression lexer and parser never panic: any text gives a
//! meaning or an error with a column inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netring::filter::expr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = expr::check(text) {
        assert!(e.column >= 1 && e.column <= text.chars().count() + 1, "column {} of {text:?}", e.column);
    }
});
