//! A Kafka cluster in one process, on 127.0.0.1, for trying `tt`'s Kafka commands without
//! a broker: librdkafka's mock cluster, which speaks the real protocol (produce, fetch,
//! consumer groups, offsets) and keeps everything in memory.
//!
//!     cargo run --release --example kafka_mock -- [BROKERS] [TOPIC:PARTITIONS ...]
//!
//! It prints the bootstrap servers (`127.0.0.1:PORT,...`) on the first line of stdout and
//! runs until stdin closes or it is killed, for example:
//!
//!     cargo run --release --example kafka_mock -- 3 posts:4 uses:4 > brokers.txt &

use std::io::{BufRead, Write};

use rdkafka::mocking::MockCluster;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let brokers: i32 = match args.peek().and_then(|a| a.parse().ok()) {
        Some(n) => {
            args.next();
            n
        }
        None => 1,
    };
    let cluster = MockCluster::new(brokers).unwrap_or_else(|e| {
        eprintln!("kafka_mock: cannot start the mock cluster: {e}");
        std::process::exit(1)
    });
    for t in args {
        let (name, parts) = t.split_once(':').unwrap_or((&t, "1"));
        let parts: i32 = parts.parse().unwrap_or_else(|_| {
            eprintln!("kafka_mock: {t}: not TOPIC:PARTITIONS");
            std::process::exit(2)
        });
        if let Err(e) = cluster.create_topic(name, parts, brokers.min(3)) {
            eprintln!("kafka_mock: cannot create topic {name}: {e}");
            std::process::exit(1)
        }
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", cluster.bootstrap_servers());
    let _ = out.flush();
    // Runs until stdin closes (or a signal ends the process).
    for _ in std::io::stdin().lock().lines() {}
}
