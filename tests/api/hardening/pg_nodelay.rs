//! PostgreSQL connections have TCP_NODELAY set (sqlx 0.9.0 leaves it off,
//! and Nagle then holds a large message's tail for the server's delayed
//! ACK, about 40 ms: see `src/store/nodelay.rs`).

use crate::support::app::{Engine, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_have_tcp_nodelay() {
    let test = "postgres_connections_have_tcp_nodelay";
    let Some(app) = TestApp::spawn(Engine::Postgres, test).await else {
        return;
    };
    let (local, peer): (Option<i32>, Option<i32>) =
        sqlx::query_as("SELECT inet_client_port(), inet_server_port()")
            .fetch_one(app.state().store.reader())
            .await
            .expect("ports");
    let (Some(local), Some(peer)) = (local, peer) else {
        panic!("the test server is reached over TCP, so both ports are known");
    };
    let nodelay = pingate::store::nodelay::nodelay_of(local as u16, peer as u16)
        .expect("the process's sockets can be read");
    assert_eq!(nodelay, Some(true), "ports {local} -> {peer}");
    app.shutdown().await;
}
