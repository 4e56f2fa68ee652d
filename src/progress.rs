//! The progress line of a long run over files (`tt tags month.tar | ...`), drawn on stderr
//! when it is a terminal and stdout is not (output on the terminal is progress enough, and
//! would run through the line): how much of the input has been read, how fast, and how
//! long is left. Messages said meanwhile go above it ([`suspend`]), so they are not
//! garbled, and it is cleared when the run ends.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The line being drawn, if any: messages go above it.
static LINE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// How often the line asks how much has been read.
const EVERY: Duration = Duration::from_millis(200);

/// A progress line; cleared when dropped.
pub struct Progress {
    bar: ProgressBar,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

/// Starts the line of `tt CMD` for `total()` bytes of input, asking `read` how many have
/// been read so far five times a second. `None` when stderr is not a terminal (a pipe, a
/// file, cron), when the command writes its output to stdout (`writes_stdout`) and that
/// is the terminal, or when the total is 0 (unknown): nothing is drawn, no thread is
/// started, and the total is not even asked.
pub fn start(
    cmd: &'static str,
    writes_stdout: bool,
    total: impl FnOnce() -> u64,
    read: impl Fn() -> u64 + Send + 'static,
) -> Option<Progress> {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if bar.is_hidden() || writes_stdout && std::io::stdout().is_terminal() {
        return None;
    }
    let total = total();
    if total == 0 {
        return None;
    }
    bar.set_length(total);
    let style = ProgressStyle::with_template(
        "tt {prefix}: {bytes} of {total_bytes} read ({percent} %), {binary_bytes_per_sec}, \
         {eta} left",
    )
    .expect("a valid template");
    bar.set_style(style);
    bar.set_prefix(cmd);
    bar.tick();
    *LINE.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let ticker = {
        let (bar, stop) = (bar.clone(), Arc::clone(&stop));
        // Parts of a file are read to their last line's end, a little past the part:
        // the count may pass the total by a line or two.
        std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    bar.set_position(read().min(total));
                    std::thread::park_timeout(EVERY);
                }
            })
            .ok()
    };
    Some(Progress { bar, stop, ticker })
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            t.thread().unpark();
            let _ = t.join();
        }
        *LINE.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.bar.finish_and_clear();
    }
}

/// Runs `f` (which writes a message to stderr) with the progress line, if one is drawn,
/// taken off the screen first and drawn again below the message. With none of its own,
/// on a terminal, the line the cursor is on is cleared first: in `tt tags F | tt count`
/// it holds `tt tags`' progress line, which the message of `tt count` ran into, and which
/// `tt tags` then draws again below the message (it redraws the line it is on).
pub fn suspend<T>(f: impl FnOnce() -> T) -> T {
    let bar = LINE.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match bar {
        Some(bar) => bar.suspend(f),
        None => {
            if *STDERR_DRAWN.get_or_init(|| !ProgressDrawTarget::stderr().is_hidden()) {
                let _ = console::Term::stderr().clear_line();
            }
            f()
        }
    }
}

/// Whether stderr is where progress lines are drawn (a terminal that is not dumb).
static STDERR_DRAWN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
