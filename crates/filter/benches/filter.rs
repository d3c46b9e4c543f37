//! `cargo bench -p ltt-filter --features bench [-- --iters N]`: ns per
//! filter evaluation (see `ltt_filter::bench`).

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if let Err(e) = ltt_filter::bench::bench_run(&args) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
