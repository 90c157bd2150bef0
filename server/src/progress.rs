//! Progress of the long-running commands (`quay install`, `quay gc`): numbered steps on a
//! terminal, log lines (stderr) when not on one, so scripts get quiet stdout and a logged run.

use std::io::IsTerminal as _;

/// Progress of a multi-step command: `[n/N] what` on a terminal, log lines otherwise.
pub struct Progress {
    step: usize,
    total: usize,
    terminal: bool,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Progress { step: 0, total, terminal: std::io::stdout().is_terminal() }
    }

    pub fn step(&mut self, what: &str) {
        self.step += 1;
        if self.terminal {
            println!("[{}/{}] {what}", self.step, self.total);
        } else {
            tracing::info!(step = self.step, total = self.total, "{what}");
        }
    }
}
