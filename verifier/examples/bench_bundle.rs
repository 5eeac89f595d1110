//! Writes the load benchmark's bundle (scripts/bench.sh load): N images in
//! N repositories, sharing base layers, each with a unique top layer and a
//! cosign signature. Prints one source reference per line.
//!
//!     cargo run --release -p verifier --example bench_bundle -- DIR [IMAGES] [MIB_PER_IMAGE] [BASE_MIB]

#[path = "../tests/support/mod.rs"]
mod support;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).expect("usage: bench_bundle DIR [IMAGES] [MIB_PER_IMAGE] [BASE_MIB]"));
    let images: u64 = args.get(2).map_or(20, |n| n.parse().expect("IMAGES"));
    let unique_mib: usize = args.get(3).map_or(80, |n| n.parse().expect("MIB_PER_IMAGE"));
    let base_mib: usize = args.get(4).map_or(448, |n| n.parse().expect("BASE_MIB"));
    const MIB: usize = 1024 * 1024;
    let mut w = support::BundleWriter::new(&dir);
    let publisher = keys::SigningKey::generate().unwrap();
    // Three shared base layers (1/2, 1/3, 1/6 of BASE_MIB), as images built
    // on one distribution and one runtime share theirs.
    let bases: Vec<Vec<u8>> = [3, 2, 1].iter().enumerate().map(|(i, part)| support::noise(1000 + i as u64, base_mib * MIB * part / 6)).collect();
    for i in 0..images {
        let mut layers = bases.clone();
        layers.push(support::noise(i, unique_mib * MIB));
        let made = w.image(&format!("app{i}"), layers);
        let reference = format!("bench.example/team/app{i:02}:v1");
        w.add_image(&reference, &made);
        w.add_cosign_signature(&reference, made.digest(), &publisher, &format!("bench.example/team/app{i:02}"));
        println!("{reference}");
    }
    w.finish(&[]);
}
