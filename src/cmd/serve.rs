//! `tt serve`: leaderboards in (`tt top` output), a live chart in the browser out.
//! The server is in [`crate::serve`]; this file holds the flags and feeds it.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::args::InputOpts;
use crate::error::{Error, Kind, Result};
use crate::io::{open_inputs, Diag, LineReader, MAX_LEADERBOARD_LINE};
use crate::record::{self, Leaderboard};
use crate::serve::{Hub, Options, Server};

const LONG_ABOUT: &str = "\
Serve the leaderboards as a live chart in the browser.

Reads leaderboards (the output of `tt top`) and serves, on http://127.0.0.1:5001/ by
default, a page with a bar chart of the current leaders, the recent history of the
leaders, the batch time, posts per second, and the leaders as a table. The page updates
live (server-sent events, polling as the fallback) and needs no internet: Chart.js is
served from the binary. When the input ends, the last leaderboard stays served until tt
serve is stopped.

Endpoints:
  GET  /                  the page
  GET  /api/top.json      the latest leaderboard (null before the first)
  GET  /api/history.json  the recent leaderboards, oldest first
  GET  /events            server-sent events, one leaderboard per event
  GET  /refreshData       the classic tutorial's {\"sLabel\": [...], \"sData\": [...]}
  POST /updateData        the classic tutorial's form fields label and data, Python list
                          literals as str(list) writes them (parsed, never evaluated)

Secure by default: it binds 127.0.0.1; every label is escaped (the page only sets text);
responses carry nosniff and the page a Content-Security-Policy; requests to another Host
are refused (421), and so are a request with two Host headers or two Content-Lengths
(400) and a POST from a page of another origin (403: cross-site request forgery, judged by
Sec-Fetch-Site, Origin and Referer); bodies over 64 KiB are refused (413); POST needs the
token whenever one is set (--token or TT_SERVE_TOKEN; send it as `Authorization: Bearer TOKEN` or a `token`
form field), and binding to anything but loopback requires one.

Bounded: at most --max-connections client connections are open (one more gets 503 at once);
a request head must arrive within 10 s (408) and fit in 16 KiB (431); a connection may
carry several requests (keep-alive), but one idle for 5 s between requests is closed, so
idle clients cannot pile up; a client that reads nothing for 10 s is dropped. A fixed number of threads handle requests,
one more serves each open connection, and at most 32 event streams are open at once.";

const AFTER_HELP: &str = "\
Examples:
  tt fetch sim | tt tags | tt count --batch 2s | tt top 10 | tt serve
  tt top 10 counts.ndjson | tt serve --bind 127.0.0.1:8080
  TT_SERVE_TOKEN=s3cret tt serve --bind 0.0.0.0:5001 < leaderboards.ndjson";

#[derive(Debug, clap::Args)]
#[command(
    about = "Serve the leaderboards as a live chart in the browser",
    long_about = LONG_ABOUT,
    after_long_help = AFTER_HELP
)]
pub struct Args {
    /// Inputs of leaderboards (NDJSON from `tt top`), read in order; `-` or none reads
    /// standard input.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:5001")]
    pub bind: SocketAddr,

    /// Port to listen on at 127.0.0.1: --port 8080 is --bind 127.0.0.1:8080 (0: any free
    /// port, the one taken is printed).
    #[arg(long, value_name = "PORT", conflicts_with = "bind", value_parser = crate::args::parse_whole::<u16>)]
    pub port: Option<u16>,

    /// Token that POST requests must carry. Required when --bind is not loopback.
    #[arg(
        long,
        env = "TT_SERVE_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// Most client connections open at once; more are answered 503 and closed.
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = crate::args::parse_whole_in::<u32, 1, 65_536>)]
    pub max_connections: u32,

    /// How many recent leaderboards to keep for the history chart.
    #[arg(long, value_name = "N", default_value_t = 300, value_parser = crate::args::parse_whole::<usize>)]
    pub history: usize,

    #[command(flatten)]
    pub input_opts: InputOpts,
}

pub fn run(mut args: Args) -> Result<()> {
    if let Some(port) = args.port {
        args.bind = SocketAddr::from(([127, 0, 0, 1], port));
    }
    if !args.bind.ip().is_loopback() && args.token.as_deref().is_none_or(str::is_empty) {
        return Err(Error::usage(format!(
            "--bind {} is not loopback: set a token (--token or TT_SERVE_TOKEN) so that \
             nobody else can POST",
            args.bind
        )));
    }
    let opts = Options {
        bind: args.bind,
        token: args.token.clone().filter(|t| !t.is_empty()),
        max_conns: args.max_connections as usize,
    };
    let server = Server::bind(&opts).map_err(|e| {
        // The usual cause is the chart of an earlier run (or another server) on the
        // default port: say how to pick another, in this command's own options.
        let hint = match e.kind() {
            std::io::ErrorKind::AddrInUse => {
                " (another tt serve, or another server, has it: --port N listens on another \
                 port, --port 0 on any free one)"
            }
            _ => "",
        };
        Error::new(
            Kind::Unavailable,
            format!("cannot listen on {}: {e}{hint}", args.bind),
        )
    })?;
    let hub = Hub::new(args.history);
    let diag = Diag::new("serve", args.input_opts.quiet, args.input_opts.strict);
    diag.say(format!("serving the chart on http://{}/", server.addr));

    let inputs = open_inputs(&args.files)?;
    let feed_hub = hub.clone();
    let max = args.input_opts.max_line(MAX_LEADERBOARD_LINE);
    let reader = std::thread::spawn(move || feed(inputs, feed_hub, max, diag));
    let run_hub = hub.clone();
    std::thread::spawn(move || server.run(run_hub, opts));
    // The input ending is not the end: the last leaderboard stays served.
    if let Ok(Err(e)) = reader.join() {
        return Err(e);
    }
    loop {
        std::thread::park();
    }
}

fn feed(
    inputs: Vec<crate::io::Input>,
    hub: std::sync::Arc<Hub>,
    max: usize,
    mut diag: Diag,
) -> Result<()> {
    for input in inputs {
        feed_one(input, &hub, max, &mut diag)?;
    }
    diag.summary();
    diag.note("end of input: still serving the last leaderboard (stop with Ctrl-C)");
    Ok(())
}

fn feed_one(input: crate::io::Input, hub: &Hub, max: usize, diag: &mut Diag) -> Result<()> {
    let mut lines = LineReader::new(input.reader, max);
    while let Some((lineno, bytes)) = lines.next_record(&input.name, diag, &mut || Ok(()))? {
        let line = std::str::from_utf8(bytes).unwrap_or("");
        let read = match std::str::from_utf8(bytes) {
            Err(e) => Err(format!("invalid UTF-8: {e}")),
            Ok(l) => match crate::json::not_an_object(l) {
                Some(n) => Err(n.say("an object")),
                None => {
                    serde_json::from_str::<Leaderboard>(l).map_err(|e| crate::json::explain(&e))
                }
            },
        };
        match read {
            Ok(lb) => hub.push(&lb),
            Err(why) => {
                diag.hint_wrong_stage(|| record::looks_like(line), "leaderboards (from tt top)");
                diag.bad_line(
                    &input.name,
                    lineno,
                    format!("not a leaderboard from tt top ({why})"),
                )?
            }
        }
    }
    Ok(())
}
