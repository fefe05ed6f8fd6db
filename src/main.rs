//! The `kubesim` command. Its allocator is mimalloc, configured as `kubesim::allocator` says.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    kubesim::allocator::configure();
    std::process::exit(kubesim::cli::main());
}
