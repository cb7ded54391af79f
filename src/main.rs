//! `electbench`: see `electbench --help`.

fn main() {
    std::process::exit(electbench::cli::main());
}
