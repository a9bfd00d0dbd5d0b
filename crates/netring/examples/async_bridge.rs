//! An inline bridge on a tokio runtime: `Bridge::run_async` forwards A ⇄ B
//! (dropping IPv6 as an example decision) until Ctrl-C.
//!
//! ```sh
//! sudo cargo run -p netring --features tokio --example async_bridge -- IFACE_A IFACE_B
//! ```

use netring::{Bridge, BridgeAction};

#[tokio::main]
async fn main() -> netring::Result<()> {
    let mut args = std::env::args().skip(1);
    let (a, b) = (args.next().unwrap_or_else(|| "eth1".into()), args.next().unwrap_or_else(|| "eth2".into()));
    let mut bridge = Bridge::builder().a(&a).b(&b).build()?;
    let stop = bridge.stop_handle();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.stop(); // run_async returns after draining the TX rings
    });
    eprintln!("bridging {a} <-> {b}; Ctrl-C to stop");
    let stats = bridge
        .run_async(None, |pkt, _dir| {
            if pkt.data().get(12..14) == Some(&[0x86, 0xdd][..]) { BridgeAction::Drop } else { BridgeAction::Forward }
        })
        .await?;
    println!("A→B: {:?}\nB→A: {:?}", stats.a_to_b, stats.b_to_a);
    Ok(())
}
