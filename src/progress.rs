//! The CLI's drawing of airlock's one progress interface (the `progress`
//! crate), on stderr: a bar per phase on a terminal (indicatif); otherwise
//! one line per phase, when it ends, so logs stay readable however many
//! images (a phase that runs long also gets a line every
//! [`LINE_EVERY`]); nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use progress::{bytes, Event, Phase, Progress, Unit};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Without a terminal, how often a long phase gets a line before its last.
const LINE_EVERY: Duration = Duration::from_secs(30);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Bars,
    Lines,
    Quiet,
}

/// Progress on stderr.
pub struct CliProgress {
    mode: Mode,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    phase: Option<Running>,
}

/// The phase under way.
struct Running {
    phase: Phase,
    total: u64,
    unit: Unit,
    done: u64,
    started: Instant,
    last_line: Instant,
    bar: Option<ProgressBar>,
}

impl CliProgress {
    /// Bars when stderr is a terminal, lines otherwise, nothing if `quiet`.
    pub fn new(quiet: bool) -> Self {
        let mode = match (quiet, std::io::stderr().is_terminal()) {
            (true, _) => Mode::Quiet,
            (false, true) => Mode::Bars,
            (false, false) => Mode::Lines,
        };
        Self { mode, state: Mutex::new(State::default()) }
    }

    /// The phase under way gets its last line now (before a report is
    /// printed, say).
    pub fn end(&self) {
        let mut state = self.lock();
        self.end_phase(&mut state);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn start(&self, state: &mut State, phase: Phase, total: u64, unit: Unit) {
        self.end_phase(state);
        let now = Instant::now();
        let bar = (self.mode == Mode::Bars).then(|| bar(phase, total, unit));
        state.phase = Some(Running { phase, total, unit, done: 0, started: now, last_line: now, bar });
    }

    fn advance(&self, state: &mut State, n: u64) {
        let Some(running) = state.phase.as_mut() else { return };
        running.done = running.done.saturating_add(n);
        match &running.bar {
            Some(bar) => bar.inc(n),
            None if running.last_line.elapsed() >= LINE_EVERY => {
                running.last_line = Instant::now();
                eprintln!("{}: {} so far", running.phase, amount(running.done, running.total, running.unit));
            }
            None => {}
        }
    }

    /// The phase's last line (or bar), once.
    fn end_phase(&self, state: &mut State) {
        let Some(running) = state.phase.take() else { return };
        let secs = running.started.elapsed().as_secs_f64();
        match running.bar {
            Some(bar) => bar.finish(),
            None => eprintln!("{}: {} in {secs:.1}s", running.phase, amount(running.done, running.total, running.unit)),
        }
    }
}

impl Progress for CliProgress {
    fn event(&self, event: Event<'_>) {
        if self.mode == Mode::Quiet {
            return;
        }
        let mut state = self.lock();
        match event {
            Event::Start { phase, total, unit } => self.start(&mut state, phase, total, unit),
            Event::Advance(n) => self.advance(&mut state, n),
            Event::Note(message) => match state.phase.as_ref().and_then(|r| r.bar.as_ref()) {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            },
            Event::Finish(phase) => {
                if state.phase.as_ref().is_some_and(|r| r.phase == phase) {
                    self.end_phase(&mut state);
                }
            }
        }
    }
}

impl Drop for CliProgress {
    /// A phase cut short by an error still gets its line.
    fn drop(&mut self) {
        self.end();
    }
}

/// `1.2 GiB of 3.4 GiB` or `12 of 40 item(s)`; `done` alone when the
/// total was not known.
fn amount(done: u64, total: u64, unit: Unit) -> String {
    match unit {
        Unit::Bytes if total == 0 => bytes(done),
        Unit::Bytes => format!("{} of {}", bytes(done), bytes(total)),
        Unit::Items => format!("{done} of {total} item(s)"),
    }
}

/// A bar on stderr; its sizes written by [`bytes`], the workspace's one
/// byte formatter.
fn bar(phase: Phase, total: u64, unit: Unit) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = match unit {
        Unit::Bytes => "{prefix:>8} [{bar:30}] {sizes} ({rate}, {elapsed})",
        Unit::Items => "{prefix:>8} [{bar:30}] {pos}/{len} ({elapsed})",
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("sizes", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", amount(s.pos(), s.len().unwrap_or(0), Unit::Bytes));
        })
        .with_key("rate", |s: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}/s", bytes(s.per_sec() as u64));
        })
        .progress_chars("#>.");
    bar.set_style(style);
    bar.set_prefix(phase.name());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}
