//! What `spinning` asks for, and the modes a session can be built with. Apart from
//! `spinning.rs`, which runs a pool's mode, so that the chooser, which decides between
//! these modes, and the pool, which asks it, do not import each other.

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Spinning {
    /// Decided by measuring while running (`chooser.rs`); starts off.
    Auto,
    /// Always this.
    Fixed(SpinMode),
}

/// `auto`: it spins only where that is faster, and where the cores are not free it
/// costs nothing over `off`, as it never tries (docs/performance.md, "Spinning").
impl Default for Spinning {
    fn default() -> Self {
        Spinning::Auto
    }
}

impl Spinning {
    /// What the first sessions are built with.
    pub fn initial(self) -> SpinMode {
        match self {
            Spinning::Auto => SpinMode::Off,
            Spinning::Fixed(mode) => mode,
        }
    }
}

/// How a session's intra-op threads wait for work: what a session is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SpinMode {
    /// They sleep at once (`session.intra_op.allow_spinning=0`).
    Off,
    /// ONNX Runtime's default: they spin for a while before they sleep.
    On,
    /// They spin for at most [`SHORT_SPIN_US`] µs (`session.intra_op.spin_duration_us`,
    /// ONNX Runtime 1.31 and newer; older releases ignore the key and spin as `On`).
    Short,
}

/// The spin window of [`SpinMode::Short`]: long enough to catch the next operator's
/// work within one inference, too short to hold a core between frames.
pub const SHORT_SPIN_US: u32 = 100;

impl SpinMode {
    /// As `stats` and the log name it.
    pub fn name(self) -> &'static str {
        match self {
            SpinMode::Off => "off",
            SpinMode::On => "on",
            SpinMode::Short => "short",
        }
    }

    /// The session config entries that select this mode.
    pub fn config_entries(self) -> Vec<(&'static str, String)> {
        const ALLOW: &str = "session.intra_op.allow_spinning";
        match self {
            SpinMode::Off => vec![(ALLOW, "0".into())],
            SpinMode::On => vec![(ALLOW, "1".into())],
            SpinMode::Short => vec![
                (ALLOW, "1".into()),
                (
                    "session.intra_op.spin_duration_us",
                    SHORT_SPIN_US.to_string(),
                ),
            ],
        }
    }
}
