//! `cargo run --release -p ltt-rseq --features bench --example rseq_bench`
fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ltt_rseq::bench::run(&args)
}
