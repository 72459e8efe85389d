//! Prints the OpenAPI document the server serves at `/openapi.json`
//! (generated from the code), e.g. for `scripts/openapi_diff.py`:
//! `cargo run -q --example openapi > /tmp/openapi.json`.

fn main() {
    print!("{}", pingate::http::openapi::json());
}
