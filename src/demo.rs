//! `pingate demo`: placeholder replaced below.
pub async fn run() -> Result<(), String> {
    Err("demo is not available yet".into())
}
