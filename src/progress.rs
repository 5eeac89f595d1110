//! Progress for long work: a redrawn line on a terminal, plain start and
//! finish lines otherwise (logs stay readable). Libraries report through
//! `verifier::bundle::content::Progress`; only the CLI draws.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Progress on stderr.
pub struct StderrProgress {
    tty: bool,
    state: Mutex<Option<(String, u64, Instant)>>,
    done: AtomicU64,
    last_drawn: AtomicU64,
}

impl StderrProgress {
    pub fn new() -> Self {
        Self { tty: std::io::stderr().is_terminal(), state: Mutex::new(None), done: AtomicU64::new(0), last_drawn: AtomicU64::new(0) }
    }

    fn draw(&self, final_line: bool) {
        let state = self.state.lock().expect("lock");
        let Some((phase, total, started)) = state.as_ref() else { return };
        let done = self.done.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let percent = if *total == 0 { 100.0 } else { done as f64 * 100.0 / *total as f64 };
        let line = format!("{phase}: {percent:5.1}% of {} ({}/s)", human(*total), human((done as f64 / secs) as u64));
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}{}", if final_line { "\n" } else { "" });
        } else if final_line {
            let _ = writeln!(err, "{line} in {secs:.1}s");
        }
        let _ = err.flush();
    }
}

impl verifier::bundle::content::Progress for StderrProgress {
    fn start(&self, phase: &str, total_bytes: u64) {
        *self.state.lock().expect("lock") = Some((phase.to_string(), total_bytes, Instant::now()));
        self.done.store(0, Ordering::Relaxed);
        self.last_drawn.store(0, Ordering::Relaxed);
        if !self.tty {
            eprintln!("{phase}: {} to check", human(total_bytes));
        }
    }

    fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        // Redraw every 64 MiB at most.
        if self.tty && done - self.last_drawn.load(Ordering::Relaxed) > 64 << 20 {
            self.last_drawn.store(done, Ordering::Relaxed);
            self.draw(false);
        }
    }

    fn finish(&self) {
        self.draw(true);
    }
}

/// `1.5 GiB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
