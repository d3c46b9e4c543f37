//! `cargo run --release -p ltt-ringbuf --features bench --example ringbuf_bench`
fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ltt_ringbuf::bench::run(&args)
}
