//! Kafka topics as inputs and outputs: `kafka://HOST:PORT[,HOST:PORT...]/TOPIC`.
//!
//! The records on a topic are the same NDJSON lines as in a file: a message's value holds
//! one or more whole lines. [`Publisher`] writes them with the idempotent producer and
//! `acks=all`, keyed by the post's id, so that all records of one post are one message in
//! one partition; it blocks while librdkafka's queue is full (back-pressure, not unbounded
//! buffering) and [`Publisher::flush`] returns once the brokers confirmed every message.
//! [`Reader`] reads a topic's partitions with librdkafka's synchronous consumer: all of
//! them from given positions (`tt count` keeps its positions in its state), or the share
//! of a consumer group that commits its offsets (`tt tags --group`).
//!
//! A message written by `tt tags` from a topic carries its source, the header
//! `tt-src: TOPIC:PARTITION:OFFSET` of the raw post's message: a replay after a crash of
//! `tt tags` (it commits only what the brokers confirmed, so it replays, never skips)
//! writes messages whose source was seen already, which `tt count` recognises and skips.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{DeliveryResult, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer, ProducerContext};
use rdkafka::topic_partition_list::{Offset, TopicPartitionList};

use crate::error::{Error, Kind, Result};
use crate::source::backoff::{NETWORK_MAX, NETWORK_STEP};
use crate::source::creds::Store;
use crate::time::{self, Millis};

pub const SCHEME: &str = "kafka://";

/// The header naming a message's source message: `TOPIC:PARTITION:OFFSET`.
pub const SRC_HEADER: &str = "tt-src";

/// How long metadata, watermark and commit requests may take before a broker counts as
/// unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// One try at a topic's metadata, within [`REQUEST_TIMEOUT`].
const METADATA_TRY: Duration = Duration::from_secs(2);

/// A topic named by a `kafka://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// The URL as given, for messages.
    pub url: String,
    /// `host:port[,host:port...]`: librdkafka's bootstrap.servers.
    pub brokers: String,
    pub name: String,
}

/// Whether `s` is meant as a Kafka URL (then [`Topic::parse`] says whether it is one).
pub fn is_url(s: &str) -> bool {
    s.len() >= SCHEME.len() && s[..SCHEME.len()].eq_ignore_ascii_case(SCHEME)
}

impl Topic {
    /// `kafka://HOST[:PORT][,HOST[:PORT]...]/TOPIC`; the port defaults to 9092.
    pub fn parse(s: &str) -> Result<Topic> {
        let bad = |why: &str| {
            Error::usage(format!(
                "{s}: {why}; a topic is named kafka://HOST:PORT/TOPIC (several brokers: \
                 kafka://HOST1:9092,HOST2:9092/TOPIC)"
            ))
        };
        if !is_url(s) {
            return Err(bad("not a kafka:// URL"));
        }
        let rest = &s[SCHEME.len()..];
        let (hosts, topic) = rest.split_once('/').ok_or_else(|| bad("no topic"))?;
        if hosts.is_empty() {
            return Err(bad("no broker"));
        }
        // Kafka's own rule for topic names: up to 249 of [a-zA-Z0-9._-].
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if topic.is_empty() || topic.len() > 249 || !topic.chars().all(legal) {
            return Err(bad(
                "a topic name is 1 to 249 letters, digits, dots, underscores and hyphens",
            ));
        }
        let mut brokers = Vec::new();
        for h in hosts.split(',') {
            let h = h.trim();
            if h.is_empty() || h.contains(['@', '?', '#', ' ']) {
                return Err(bad("a broker is HOST or HOST:PORT"));
            }
            let has_port = match h.rsplit_once(':') {
                Some((host, port)) if !host.ends_with(':') && !port.contains(']') => {
                    port.parse::<u16>()
                        .map_err(|_| bad(&format!("`{port}` is not a port number")))?;
                    true
                }
                _ => false,
            };
            brokers.push(if has_port {
                h.to_owned()
            } else {
                format!("{h}:9092")
            });
        }
        Ok(Topic {
            url: s.to_owned(),
            brokers: brokers.join(","),
            name: topic.to_owned(),
        })
    }
}

/// Where a reader starts on a partition that has no position yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    Earliest,
    Latest,
    /// The first message at or after this time (ms since the epoch).
    At(Millis),
}

/// `earliest`, `latest`, or an RFC 3339 time.
pub fn parse_start(s: &str) -> std::result::Result<Start, String> {
    match s {
        "earliest" => Ok(Start::Earliest),
        "latest" => Ok(Start::Latest),
        _ => time::parse_any(s).map(Start::At).ok_or_else(|| {
            format!("`{s}` is not earliest, latest or a time such as 2026-11-24T10:00:00Z")
        }),
    }
}

/// Options of every command that talks to Kafka.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Kafka (with a kafka://HOST:PORT/TOPIC input or output)")]
pub struct ClientArgs {
    /// A librdkafka property, for real clusters (repeatable): security.protocol=SASL_SSL,
    /// sasl.mechanism=SCRAM-SHA-512, ssl.ca.location=ca.pem, ... The SASL user name and
    /// password come from KAFKA_USERNAME and KAFKA_PASSWORD (see --kafka-credentials), never from
    /// the command line.
    #[arg(long = "kafka-option", value_name = "KEY=VALUE")]
    pub options: Vec<String>,

    /// Credentials file with KAFKA_USERNAME and KAFKA_PASSWORD (NAME=value lines, chmod
    /// 600; the file tt fetch reads). Default: $XDG_CONFIG_HOME/tt/credentials, if it exists.
    /// The environment's variables of the same names win.
    #[arg(long = "kafka-credentials", value_name = "FILE")]
    pub credentials: Option<PathBuf>,
}

/// Options of the commands that read a topic.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Kafka (with a kafka://HOST:PORT/TOPIC input or output)")]
pub struct ReadArgs {
    /// Where to start reading a partition that has no position yet (none in --state, none
    /// committed by the --group): `earliest`, `latest`, or a time (RFC 3339: the first
    /// message at or after it).
    #[arg(long, value_name = "POSITION", value_parser = parse_start, default_value = "earliest")]
    pub from: Start,

    /// Stop once every partition of the topic has been read to its end, instead of waiting
    /// for more: for scripts, cron and tests.
    #[arg(long)]
    pub until_end: bool,

    #[command(flatten)]
    pub client: ClientArgs,
}

/// What the client says about brokers (down, back, refused) goes to stderr, each kind at
/// most once per [`SAY_EVERY`]; delivery results are counted for [`Publisher`].
struct Ctx {
    cmd: &'static str,
    said: Mutex<Vec<(String, Instant)>>,
    delivered: AtomicU64,
    failed: Mutex<Option<String>>,
    /// librdkafka's last reason given with an error ("127.0.0.1:9092/bootstrap: Connect
    /// to ipv4#127.0.0.1:9092 failed: Connection refused"): what a request that timed out
    /// does not say.
    last_error: Mutex<Option<String>>,
}

const SAY_EVERY: Duration = Duration::from_secs(10);

impl Ctx {
    fn new(cmd: &'static str) -> Ctx {
        Ctx {
            cmd,
            said: Mutex::new(Vec::new()),
            delivered: AtomicU64::new(0),
            failed: Mutex::new(None),
            last_error: Mutex::new(None),
        }
    }

    /// `why`, with librdkafka's last reason for an error when there is one.
    fn with_last_error(&self, why: &str) -> String {
        let last = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
        match last.as_deref() {
            Some(reason) => format!("{why} (last: {reason})"),
            None => why.to_owned(),
        }
    }

    fn say(&self, kind: &str, msg: &str) {
        let mut said = self.said.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match said.iter_mut().find(|(k, _)| k == kind) {
            Some((_, at)) if now.duration_since(*at) < SAY_EVERY => return,
            Some((_, at)) => *at = now,
            None => said.push((kind.to_owned(), now)),
        }
        crate::io::say(self.cmd, format!("kafka: {msg}"));
    }
}

impl ClientContext for Ctx {
    fn log(&self, _: RDKafkaLogLevel, _: &str, _: &str) {
        // librdkafka logs every reconnect attempt; what matters reaches `error` below.
    }

    fn error(&self, error: KafkaError, reason: &str) {
        let what = match error.rdkafka_error_code() {
            // Reaching a partition's end is news, not trouble: it comes as an event.
            Some(RDKafkaErrorCode::PartitionEOF) => return,
            Some(RDKafkaErrorCode::AllBrokersDown) => {
                format!("{reason}; retrying until the brokers are back")
            }
            Some(RDKafkaErrorCode::BrokerTransportFailure) => {
                format!("{reason} (retrying)")
            }
            _ => reason.to_owned(),
        };
        // "1/1 brokers are down" follows the reason why and would hide it.
        if error.rdkafka_error_code() != Some(RDKafkaErrorCode::AllBrokersDown) {
            *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_owned());
        }
        self.say(&format!("{error:?}"), &what);
    }
}

impl ProducerContext for Ctx {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                let mut failed = self.failed.lock().unwrap_or_else(|e| e.into_inner());
                failed.get_or_insert_with(|| reason(e));
            }
        }
    }
}

impl ConsumerContext for Ctx {}

/// The network sources' bounds for reconnecting to a broker: from 250 ms up to 16 s apart
/// (librdkafka doubles the wait, with jitter, where the sources add a step each time).
fn reconnect_like_the_sources(c: &mut ClientConfig) {
    c.set("reconnect.backoff.ms", NETWORK_STEP.as_millis().to_string())
        .set(
            "reconnect.backoff.max.ms",
            NETWORK_MAX.as_millis().to_string(),
        );
}

/// The client configuration shared by producers and consumers: brokers, `--kafka-option`s
/// and SASL credentials.
fn config(topic: &Topic, client: &ClientArgs) -> Result<ClientConfig> {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &topic.brokers)
        .set("client.id", "tt")
        .set("log_level", "3");
    reconnect_like_the_sources(&mut c);
    for opt in &client.options {
        let Some((k, v)) = opt.split_once('=') else {
            return Err(Error::usage(format!(
                "--kafka-option {opt}: not KEY=VALUE (for example security.protocol=SASL_SSL)"
            )));
        };
        let k = k.trim();
        if k.contains("password") || k == "sasl.oauthbearer.client.secret" {
            return Err(Error::usage(format!(
                "--kafka-option {k}: secrets are not taken from the command line (other \
                 users see it in ps): set KAFKA_PASSWORD in the credentials file or environment"
            )));
        }
        c.set(k, v.trim());
    }
    let store = Store::load(client.credentials.as_deref())?;
    let (user, password) = (store.get("KAFKA_USERNAME"), store.get("KAFKA_PASSWORD"));
    if let Some(u) = &user {
        c.set("sasl.username", u.expose());
    }
    if let Some(p) = &password {
        c.set("sasl.password", p.expose());
    }
    if user.is_some() != password.is_some() {
        return Err(Error::new(
            Kind::Config,
            "KAFKA_USERNAME and KAFKA_PASSWORD go together: one of them is missing",
        ));
    }
    Ok(c)
}

fn client_error(topic: &Topic, what: &str, e: KafkaError) -> Error {
    let kind = match e.rdkafka_error_code() {
        Some(
            RDKafkaErrorCode::SaslAuthenticationFailed
            | RDKafkaErrorCode::TopicAuthorizationFailed
            | RDKafkaErrorCode::GroupAuthorizationFailed
            | RDKafkaErrorCode::ClusterAuthorizationFailed,
        ) => Kind::NoPerm,
        Some(RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic) => {
            Kind::NoInput
        }
        None if matches!(e, KafkaError::ClientCreation(_)) => Kind::Config,
        _ => Kind::Unavailable,
    };
    Error::new(kind, format!("{}: {what}: {}", topic.url, reason(&e)))
}

/// librdkafka's words for an error, without rust-rdkafka's wrapping of them ("Meta data
/// fetch error: BrokerTransportFailure (Local: Broker transport failure)" says "Broker
/// transport failure"): the code's name is Rust's, and "Local: " is librdkafka's mark of
/// an error found by the client rather than answered by a broker ("Broker: ...", kept).
fn reason(e: &KafkaError) -> String {
    let Some(code) = e.rdkafka_error_code() else {
        return e.to_string();
    };
    let full = code.to_string();
    let text = full
        .strip_prefix(&format!("{code:?} ("))
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(&full);
    text.strip_prefix("Local: ").unwrap_or(text).to_owned()
}

/// Writes messages to a topic: idempotent, `acks=all`, confirmed before [`Self::flush`]
/// returns.
pub struct Publisher {
    producer: BaseProducer<Ctx>,
    topic: Topic,
    sent: u64,
}

impl Publisher {
    /// A producer for `topic`. `timeout`: how long a message may wait for the brokers
    /// (librdkafka's message.timeout.ms; 0 waits for ever).
    pub fn new(
        topic: &Topic,
        client: &ClientArgs,
        cmd: &'static str,
        timeout: Duration,
    ) -> Result<Publisher> {
        let mut c = config(topic, client)?;
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "5")
            // Back-pressure: at most this many messages wait in librdkafka's queue; then
            // send() waits for deliveries (about 100 MB of raw posts).
            .set("queue.buffering.max.messages", "100000")
            .set("queue.buffering.max.kbytes", "131072")
            .set("message.timeout.ms", timeout.as_millis().to_string())
            .set("retry.backoff.ms", "100")
            .set("retry.backoff.max.ms", "1000");
        let producer: BaseProducer<Ctx> = c
            .create_with_context(Ctx::new(cmd))
            .map_err(|e| client_error(topic, "cannot create a producer", e))?;
        Ok(Publisher {
            producer,
            topic: topic.clone(),
            sent: 0,
        })
    }

    /// Queues one message; waits while the queue is full (back-pressure). `src`: the
    /// [`SRC_HEADER`] to carry.
    pub fn send(&mut self, key: Option<&[u8]>, payload: &[u8], src: Option<&str>) -> Result<()> {
        let headers = src.map(|s| {
            OwnedHeaders::new().insert(Header {
                key: SRC_HEADER,
                value: Some(s),
            })
        });
        let mut record: BaseRecord<'_, [u8], [u8], ()> =
            BaseRecord::to(&self.topic.name).payload(payload);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(h) = headers {
            record = record.headers(h);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.producer.poll(Duration::from_millis(50));
                    self.check()?;
                }
                Err((e, _)) => return Err(client_error(&self.topic, "cannot publish", e)),
            }
        }
        self.sent += 1;
        self.producer.poll(Duration::ZERO);
        self.check()
    }

    /// Serves delivery reports; an error if a message could not be delivered.
    pub fn check(&self) -> Result<()> {
        let failed = self.producer.context().failed.lock();
        match failed.unwrap_or_else(|e| e.into_inner()).as_ref() {
            None => Ok(()),
            Some(why) => Err(Error::new(
                Kind::Unavailable,
                format!(
                    "{}: a message was not confirmed by the brokers ({why}); {} of {} confirmed",
                    self.topic.url,
                    self.delivered(),
                    self.sent
                ),
            )),
        }
    }

    /// Waits until the brokers confirmed every message sent.
    pub fn flush(&mut self) -> Result<()> {
        while self.producer.in_flight_count() > 0 {
            match self.producer.flush(Duration::from_millis(500)) {
                Ok(()) | Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => {}
                Err(e) => return Err(client_error(&self.topic, "cannot publish", e)),
            }
            self.check()?;
        }
        self.check()
    }

    /// Messages the brokers confirmed so far.
    pub fn delivered(&self) -> u64 {
        self.producer.context().delivered.load(Ordering::Relaxed)
    }
}

/// A message read: where it stands, and its lines.
#[derive(Debug)]
pub struct Msg {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Vec<u8>,
    /// Its [`SRC_HEADER`], when `tt tags` wrote it from another topic.
    pub src: Option<Src>,
}

/// The source of a message: a partition of a topic (`TOPIC:PARTITION`) and an offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Src {
    pub partition: String,
    pub offset: i64,
}

impl Src {
    fn parse(v: &[u8]) -> Option<Src> {
        let s = std::str::from_utf8(v).ok()?;
        let (partition, offset) = s.rsplit_once(':')?;
        Some(Src {
            partition: partition.to_owned(),
            offset: offset.parse().ok()?,
        })
    }
}

/// What reading a topic gives.
#[derive(Debug)]
pub enum Event {
    Msg(Msg),
    /// The partition has been read to its end (for now).
    End(i32),
}

/// Reads a topic: all its partitions, or a consumer group's share of them.
pub struct Reader {
    consumer: BaseConsumer<Ctx>,
    pub topic: Topic,
    group: bool,
    until_end: bool,
    /// Partitions read to their end, and not given a message since.
    at_end: HashSet<i32>,
    /// The next offset of every partition read from (what a commit or a state records).
    pub next: BTreeMap<i32, i64>,
    committed: BTreeMap<i32, i64>,
}

impl Reader {
    /// Reads every partition of `topic`: from `resume`'s offset where it has one, else
    /// from `read.from`.
    pub fn all(
        topic: &Topic,
        read: &ReadArgs,
        resume: &BTreeMap<i32, i64>,
        cmd: &'static str,
    ) -> Result<Reader> {
        let mut c = config(topic, &read.client)?;
        // A group id is required of every consumer; this one commits nothing.
        c.set("group.id", "tt-assigned")
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true");
        let consumer: BaseConsumer<Ctx> = c
            .create_with_context(Ctx::new(cmd))
            .map_err(|e| client_error(topic, "cannot create a consumer", e))?;
        let parts = partitions(&consumer, topic)?;
        // Every partition gets an explicit offset, so that a state saved before a
        // partition's first message still says where it started.
        let mut next = BTreeMap::new();
        let mut times = TopicPartitionList::new();
        for &p in &parts {
            let start = match (resume.get(&p), read.from) {
                (Some(&o), _) => o,
                (None, Start::At(ms)) => {
                    times
                        .add_partition_offset(&topic.name, p, Offset::Offset(ms))
                        .map_err(|e| client_error(topic, "bad partition", e))?;
                    continue;
                }
                (None, from) => {
                    let (low, high) = consumer
                        .fetch_watermarks(&topic.name, p, REQUEST_TIMEOUT)
                        .map_err(|e| client_error(topic, "cannot read the offsets", e))?;
                    if from == Start::Earliest {
                        low
                    } else {
                        high
                    }
                }
            };
            next.insert(p, start);
        }
        if times.count() > 0 {
            let found = consumer
                .offsets_for_times(times, REQUEST_TIMEOUT)
                .map_err(|e| client_error(topic, "cannot find offsets by time", e))?;
            for e in found.elements() {
                let o = match e.offset() {
                    Offset::Offset(o) => o,
                    // No message at or after the time: start at the end.
                    _ => {
                        consumer
                            .fetch_watermarks(&topic.name, e.partition(), REQUEST_TIMEOUT)
                            .map_err(|e| client_error(topic, "cannot read the offsets", e))?
                            .1
                    }
                };
                next.insert(e.partition(), o);
            }
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in &next {
            tpl.add_partition_offset(&topic.name, p, Offset::Offset(o))
                .map_err(|e| client_error(topic, "bad partition", e))?;
        }
        consumer
            .assign(&tpl)
            .map_err(|e| client_error(topic, "cannot read", e))?;
        Ok(Reader {
            consumer,
            topic: topic.clone(),
            group: false,
            until_end: read.until_end,
            at_end: HashSet::new(),
            next,
            committed: BTreeMap::new(),
        })
    }

    /// Reads the share of `topic` that consumer group `group` gives this member, from the
    /// group's committed offsets (else from `read.from`: earliest or latest).
    pub fn group(topic: &Topic, group: &str, read: &ReadArgs, cmd: &'static str) -> Result<Reader> {
        let reset = match read.from {
            Start::Earliest => "earliest",
            Start::Latest => "latest",
            Start::At(_) => {
                return Err(Error::usage(
                    "--from TIME needs no --group: a group resumes from its committed offsets",
                ))
            }
        };
        let mut c = config(topic, &read.client)?;
        c.set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("enable.partition.eof", "true")
            .set("auto.offset.reset", reset);
        let consumer: BaseConsumer<Ctx> = c
            .create_with_context(Ctx::new(cmd))
            .map_err(|e| client_error(topic, "cannot create a consumer", e))?;
        partitions(&consumer, topic)?;
        consumer
            .subscribe(&[&topic.name])
            .map_err(|e| client_error(topic, "cannot subscribe", e))?;
        Ok(Reader {
            consumer,
            topic: topic.clone(),
            group: true,
            until_end: read.until_end,
            at_end: HashSet::new(),
            next: BTreeMap::new(),
            committed: BTreeMap::new(),
        })
    }

    /// The next message or end of a partition, waiting at most `wait`.
    pub fn poll(&mut self, wait: Duration) -> Result<Option<Event>> {
        match self.consumer.poll(wait) {
            None => Ok(None),
            Some(Err(KafkaError::PartitionEOF(p))) => {
                self.at_end.insert(p);
                Ok(Some(Event::End(p)))
            }
            Some(Err(e)) => {
                let err = client_error(&self.topic, "cannot read", e);
                if matches!(err.kind, Kind::NoPerm | Kind::Config) {
                    return Err(err);
                }
                // Brokers down, a partition moving, a fetch that failed: librdkafka retries,
                // and the read goes on once they are back.
                self.consumer
                    .context()
                    .say(&err.msg, &format!("{} (retrying)", err.msg));
                Ok(None)
            }
            Some(Ok(m)) => {
                let (partition, offset) = (m.partition(), m.offset());
                self.at_end.remove(&partition);
                self.next.insert(partition, offset + 1);
                let src = m.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == SRC_HEADER)
                        .and_then(|h| h.value.and_then(Src::parse))
                });
                Ok(Some(Event::Msg(Msg {
                    partition,
                    offset,
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().unwrap_or_default().to_vec(),
                    src,
                })))
            }
        }
    }

    /// With --until-end: whether every partition read has been read to its end.
    pub fn done(&self) -> bool {
        if !self.until_end {
            return false;
        }
        match self.consumer.assignment() {
            Ok(a) if a.count() > 0 => a
                .elements()
                .iter()
                .all(|e| self.at_end.contains(&e.partition())),
            _ => false,
        }
    }

    /// A consumer group's member: commits the offsets past the messages handled so far
    /// (call it only once their output is safe). Nothing to do for other readers.
    pub fn commit(&mut self) -> Result<()> {
        if !self.group || self.next == self.committed {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in &self.next {
            if self.committed.get(&p) != Some(&o) {
                tpl.add_partition_offset(&self.topic.name, p, Offset::Offset(o))
                    .map_err(|e| client_error(&self.topic, "bad partition", e))?;
            }
        }
        match self.consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) => {}
            // After a rebalance took the partition away: its new reader replays from the
            // last commit, and tt count skips what it had already.
            Err(KafkaError::ConsumerCommit(
                RDKafkaErrorCode::RebalanceInProgress
                | RDKafkaErrorCode::IllegalGeneration
                | RDKafkaErrorCode::UnknownMemberId,
            )) => {}
            Err(e) => return Err(client_error(&self.topic, "cannot commit offsets", e)),
        }
        self.committed = self.next.clone();
        Ok(())
    }
}

/// The partitions of `topic`; an error if it does not exist, or if no broker answers
/// within [`REQUEST_TIMEOUT`]. Asked in tries of [`METADATA_TRY`], serving the client's
/// events between them, so that brokers that are not there are said (and why: the
/// connection refused, the name not found) after the first try, not after 30 silent
/// seconds.
fn partitions(consumer: &BaseConsumer<Ctx>, topic: &Topic) -> Result<Vec<i32>> {
    let ctx = consumer.context();
    let deadline = Instant::now() + REQUEST_TIMEOUT;
    let mut waiting = false;
    let meta = loop {
        let started = Instant::now();
        let wait = deadline
            .saturating_duration_since(started)
            .min(METADATA_TRY);
        let e = match consumer.fetch_metadata(Some(&topic.name), wait) {
            Ok(meta) => break meta,
            Err(e) => e,
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let unreachable = matches!(
            e.rdkafka_error_code(),
            Some(
                RDKafkaErrorCode::BrokerTransportFailure
                    | RDKafkaErrorCode::AllBrokersDown
                    | RDKafkaErrorCode::OperationTimedOut
                    | RDKafkaErrorCode::RequestTimedOut
            )
        );
        if !unreachable || left.is_zero() {
            let what = format!("no broker answered in {}s", REQUEST_TIMEOUT.as_secs());
            let why = ctx.with_last_error(&reason(&e));
            return Err(match unreachable {
                true => Error::new(Kind::Unavailable, format!("{}: {what}: {why}", topic.url)),
                false => client_error(topic, "cannot reach the brokers", e),
            });
        }
        // What the client found (said by `Ctx::error`, which also keeps it as the last
        // reason); nothing is assigned yet, so no message can come.
        // (A poll returns None once it has waited its time, having served any number of
        // log events; an error comes back as Some.)
        for _ in 0..100 {
            if consumer.poll(Duration::from_millis(20)).is_none() {
                break;
            }
        }
        if !waiting {
            waiting = true;
            ctx.say(
                "waiting for brokers",
                &format!(
                    "{}: no answer from the brokers yet; trying for {}s in all",
                    topic.url,
                    REQUEST_TIMEOUT.as_secs()
                ),
            );
        }
        // A try that failed at once (no broker address resolves) waits out its slice.
        std::thread::sleep(wait.saturating_sub(started.elapsed()).min(left));
    };
    let t = meta
        .topics()
        .iter()
        .find(|t| t.name() == topic.name)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty());
    match t {
        Some(t) => Ok(t.partitions().iter().map(|p| p.id()).collect()),
        None => Err(Error::new(
            Kind::NoInput,
            format!("{}: no topic {} on the brokers", topic.url, topic.name),
        )),
    }
}

/// The key of a line: the post's id (`id_str`, `id`, `data.id` or `did`, whichever comes
/// first), so that a post's records (its tag uses, from `tt tags`) go to one partition;
/// for a partial batch (`tt combine`), its slot, so that a slot's partial batches go to
/// one partition and the slots spread over all of them. `None` for a line with neither
/// (librdkafka's sticky partitioner then puts a quick run of them in one partition: 24
/// partial batches without a key all landed in one of four in a test run).
pub fn key_of(line: &[u8]) -> Option<Vec<u8>> {
    #[derive(serde::Deserialize)]
    struct Keys<'a> {
        #[serde(borrow)]
        id_str: Option<&'a str>,
        #[serde(borrow)]
        id: Option<IdValue<'a>>,
        #[serde(borrow)]
        data: Option<Data<'a>>,
        #[serde(borrow)]
        did: Option<&'a str>,
        #[serde(borrow)]
        slot: Option<IdValue<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct Data<'a> {
        #[serde(borrow)]
        id: Option<IdValue<'a>>,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum IdValue<'a> {
        Str(&'a str),
        Num(u64),
        Other(serde::de::IgnoredAny),
    }
    let k: Keys = serde_json::from_slice(line).ok()?;
    let id = |v: IdValue| match v {
        IdValue::Str(s) => Some(s.as_bytes().to_vec()),
        IdValue::Num(n) => Some(n.to_string().into_bytes()),
        IdValue::Other(_) => None,
    };
    k.id_str
        .map(|s| s.as_bytes().to_vec())
        .or_else(|| k.id.and_then(id))
        .or_else(|| k.data.and_then(|d| d.id).and_then(id))
        .or_else(|| k.did.map(|s| s.as_bytes().to_vec()))
        .or_else(|| k.slot.and_then(id))
}

/// Event time over a topic's partitions, as Flink's watermarks: the oldest of the active
/// partitions' newest times. A partition is active unless it is idle, read to its end
/// with nothing new for `idle` (`tt count --idle`); one that is active and has given no
/// time yet holds every slot open.
pub struct Watermark {
    parts: BTreeMap<i32, Part>,
    idle: Duration,
}

#[derive(Default)]
struct Part {
    /// The newest event time read from it.
    newest: Option<Millis>,
    /// Read to its end, and no message since.
    at_end: bool,
    /// When it last gave a message or reached its end.
    since: Option<Instant>,
}

impl Watermark {
    /// Over `partitions` (those a reader starts with; others are added as they are met).
    pub fn new(partitions: impl IntoIterator<Item = i32>, idle: Duration) -> Watermark {
        let parts = partitions
            .into_iter()
            .map(|p| (p, Part::default()))
            .collect();
        Watermark { parts, idle }
    }

    /// A message of `partition` was read at `now`; `newest` is the newest event time of
    /// its lines, if it was counted (a replay is not).
    pub fn message(&mut self, partition: i32, newest: Option<Millis>, now: Instant) {
        let part = self.parts.entry(partition).or_default();
        part.newest = part.newest.max(newest);
        (part.at_end, part.since) = (false, Some(now));
    }

    /// `partition` was read to its end at `now`.
    pub fn end(&mut self, partition: i32, now: Instant) {
        let part = self.parts.entry(partition).or_default();
        (part.at_end, part.since) = (true, Some(now));
    }

    /// The watermark at `now`; when every partition is idle, the newest time read
    /// anywhere.
    pub fn at(&self, now: Instant) -> Millis {
        let mut oldest: Option<Millis> = None;
        let mut newest = Millis::MIN;
        let mut active = false;
        for p in self.parts.values() {
            newest = newest.max(p.newest.unwrap_or(Millis::MIN));
            let idle = p.at_end && p.since.is_some_and(|t| now.duration_since(t) >= self.idle);
            if idle {
                continue;
            }
            active = true;
            match p.newest {
                None => return Millis::MIN,
                Some(t) => oldest = Some(oldest.map_or(t, |o| o.min(t))),
            }
        }
        if active {
            oldest.unwrap_or(Millis::MIN)
        } else {
            newest
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (what happens to partitions 0 and 1, in order, and the watermark after), with
    /// --idle 10s: `M(p, t, s)` a message of time t read s seconds in, `E(p, s)` an end.
    #[test]
    fn watermarks() {
        enum Step {
            M(i32, Option<Millis>, u64),
            E(i32, u64),
        }
        use Step::{E, M};
        let cases: Vec<(&str, Vec<Step>, u64, Millis)> = vec![
            ("nothing read: every slot held open", vec![], 0, Millis::MIN),
            (
                "one partition silent",
                vec![M(0, Some(50), 0)],
                1,
                Millis::MIN,
            ),
            (
                "the older of the two",
                vec![M(0, Some(50), 0), M(1, Some(30), 0)],
                1,
                30,
            ),
            (
                "a replay (no time) keeps the newest",
                vec![M(0, Some(50), 0), M(1, Some(30), 0), M(1, None, 1)],
                2,
                30,
            ),
            (
                "an end not yet idle still holds",
                vec![M(0, Some(50), 0), M(1, Some(30), 0), E(1, 1)],
                5,
                30,
            ),
            (
                "an end idle for 10 s no longer holds",
                vec![M(0, Some(50), 0), M(1, Some(30), 0), E(1, 1)],
                11,
                50,
            ),
            (
                "a message after the end makes it active again",
                vec![
                    M(0, Some(50), 0),
                    M(1, Some(30), 0),
                    E(1, 1),
                    M(1, Some(40), 12),
                ],
                30,
                40,
            ),
            (
                "all idle: the newest read anywhere",
                vec![M(0, Some(50), 0), M(1, Some(30), 0), E(0, 1), E(1, 1)],
                20,
                50,
            ),
        ];
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        for (what, steps, now, want) in cases {
            let mut w = Watermark::new([0, 1], Duration::from_secs(10));
            for step in steps {
                match step {
                    M(p, t, s) => w.message(p, t, at(s)),
                    E(p, s) => w.end(p, at(s)),
                }
            }
            assert_eq!(w.at(at(now)), want, "{what}");
        }
    }

    #[test]
    fn urls() {
        let ok = [
            ("kafka://127.0.0.1:9092/uses", "127.0.0.1:9092", "uses"),
            ("kafka://broker/raw.posts", "broker:9092", "raw.posts"),
            ("KAFKA://a:1,b/t_1", "a:1,b:9092", "t_1"),
            ("kafka://[::1]:9093/t", "[::1]:9093", "t"),
        ];
        for (url, brokers, name) in ok {
            let t = Topic::parse(url).unwrap();
            assert_eq!(
                (t.brokers.as_str(), t.name.as_str()),
                (brokers, name),
                "{url}"
            );
        }
        let bad = [
            "kafka://host",
            "kafka:///t",
            "kafka://h:port/t",
            "kafka://h/",
            "kafka://h/a/b",
            "kafka://user@h/t",
            "http://h/t",
        ];
        for url in bad {
            let e = Topic::parse(url).unwrap_err();
            assert_eq!(e.kind, Kind::Usage, "{url}");
            assert!(e.msg.starts_with(url), "{}", e.msg);
        }
    }

    #[test]
    fn keys_are_post_ids() {
        let cases: [(&str, Option<&str>); 9] = [
            (r#"{"id":123,"id_str":"123","text":"x"}"#, Some("123")),
            (r#"{"tag":"rust","id":"1050","at":null}"#, Some("1050")),
            (r#"{"id":1050}"#, Some("1050")),
            (r##"{"data":{"id":"77","text":"#a"}}"##, Some("77")),
            (r#"{"did":"did:plc:x","kind":"commit"}"#, Some("did:plc:x")),
            (r#"{"tag":"rust","id":null}"#, None),
            (
                r#"{"slot":880348,"batch_ms":2000,"posts":2,"uses":[]}"#,
                Some("880348"),
            ),
            (r#"{"id_str":"9","slot":[1]}"#, Some("9")),
            ("not json", None),
        ];
        for (line, want) in cases {
            let got = key_of(line.as_bytes());
            assert_eq!(got.as_deref(), want.map(str::as_bytes), "{line}");
        }
    }

    #[test]
    fn start_positions() {
        assert_eq!(parse_start("earliest"), Ok(Start::Earliest));
        assert_eq!(parse_start("latest"), Ok(Start::Latest));
        assert_eq!(
            parse_start("2026-11-24T10:00:00Z"),
            Ok(Start::At(1_795_514_400_000))
        );
        assert!(parse_start("yesterday").is_err());
    }

    #[test]
    fn sources() {
        let s = Src::parse(b"raw:3:1234").unwrap();
        assert_eq!((s.partition.as_str(), s.offset), ("raw:3", 1234));
        assert_eq!(Src::parse(b"nonsense"), None);
    }

    /// librdkafka's words, without the names of rust-rdkafka's types.
    #[test]
    fn reasons() {
        use RDKafkaErrorCode as C;
        let cases = [
            (
                KafkaError::MetadataFetch(C::BrokerTransportFailure),
                "Broker transport failure",
            ),
            (
                KafkaError::MessageConsumption(C::UnknownTopicOrPartition),
                "Broker: Unknown topic or partition",
            ),
            (
                KafkaError::MessageProduction(C::MessageTimedOut),
                "Message timed out",
            ),
            (
                KafkaError::ClientCreation("no bootstrap.servers".into()),
                "Client creation error: no bootstrap.servers",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(reason(&e), want, "{e:?}");
        }
    }
}
