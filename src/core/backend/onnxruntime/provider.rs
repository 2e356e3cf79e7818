//! Execution providers: which to try, in what order, and how the one in use is named.

use std::fmt;
use std::path::PathBuf;

/// What the user asked for (`execution-provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Requested {
    /// The first that works of TensorRT, CUDA, CPU.
    #[default]
    Auto,
    TensorRt,
    Cuda,
    Cpu,
}

/// One provider ONNX Runtime can run a session on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    TensorRt,
    Cuda,
    Cpu,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::TensorRt => "tensorrt",
            Kind::Cuda => "cuda",
            Kind::Cpu => "cpu",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The provider really running a session, e.g. `cpu`, `cuda:0`, `tensorrt:0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Active {
    pub kind: Kind,
    pub device_id: i32,
}

impl fmt::Display for Active {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Kind::Cpu => f.write_str("cpu"),
            gpu => write!(f, "{}:{}", gpu.name(), self.device_id),
        }
    }
}

/// Provider settings; part of the session cache key, so sessions differing in any of
/// them are never shared.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProviderOptions {
    pub requested: Requested,
    /// Fall back down the chain (with a warning) when the requested provider fails.
    pub fallback: bool,
    pub device_id: i32,
    /// TensorRT half precision.
    pub fp16: bool,
    /// TensorRT engine and timing cache; None = the per-user default.
    pub engine_cache_dir: Option<PathBuf>,
}

impl Default for ProviderOptions {
    fn default() -> Self {
        ProviderOptions {
            requested: Requested::Auto,
            fallback: true,
            device_id: 0,
            fp16: false,
            engine_cache_dir: None,
        }
    }
}

impl ProviderOptions {
    /// Providers to try in order.
    pub fn chain(&self) -> Vec<Kind> {
        let full = match self.requested {
            Requested::Auto | Requested::TensorRt => vec![Kind::TensorRt, Kind::Cuda, Kind::Cpu],
            Requested::Cuda => vec![Kind::Cuda, Kind::Cpu],
            Requested::Cpu => vec![Kind::Cpu],
        };
        if self.fallback || self.requested == Requested::Auto {
            full
        } else {
            full.into_iter().take(1).collect()
        }
    }

    /// Whether falling back from the first choice deserves a warning: `auto` promises
    /// nothing, an explicit request does.
    pub fn warns_on_fallback(&self) -> bool {
        self.requested != Requested::Auto
    }

    /// The engine cache folder: the configured one, else `$XDG_CACHE_HOME/imgclassify/tensorrt`,
    /// else `~/.cache/imgclassify/tensorrt`.
    pub fn engine_cache_root(&self) -> PathBuf {
        if let Some(dir) = &self.engine_cache_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("imgclassify").join("tensorrt")
    }
}

/// Folder for one TensorRT engine: a different model, GPU, precision or input shape
/// gets a different folder, so a stale or foreign engine is never loaded.
pub fn engine_dir(
    root: &std::path::Path,
    model_sha256: &str,
    device_id: i32,
    fp16: bool,
    (width, height): (usize, usize),
) -> PathBuf {
    let short = model_sha256.get(..16).unwrap_or(model_sha256);
    let precision = if fp16 { "fp16" } else { "fp32" };
    root.join(format!(
        "{short}-gpu{device_id}-{precision}-{width}x{height}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(requested: Requested, fallback: bool) -> ProviderOptions {
        ProviderOptions {
            requested,
            fallback,
            ..Default::default()
        }
    }

    #[test]
    fn chains_follow_the_request() {
        use Kind::*;
        assert_eq!(
            opts(Requested::Auto, true).chain(),
            vec![TensorRt, Cuda, Cpu]
        );
        assert_eq!(
            opts(Requested::Auto, false).chain(),
            vec![TensorRt, Cuda, Cpu]
        );
        assert_eq!(
            opts(Requested::TensorRt, true).chain(),
            vec![TensorRt, Cuda, Cpu]
        );
        assert_eq!(opts(Requested::TensorRt, false).chain(), vec![TensorRt]);
        assert_eq!(opts(Requested::Cuda, true).chain(), vec![Cuda, Cpu]);
        assert_eq!(opts(Requested::Cuda, false).chain(), vec![Cuda]);
        assert_eq!(opts(Requested::Cpu, false).chain(), vec![Cpu]);
    }

    #[test]
    fn only_explicit_requests_warn() {
        assert!(!opts(Requested::Auto, true).warns_on_fallback());
        assert!(opts(Requested::Cuda, true).warns_on_fallback());
    }

    #[test]
    fn active_names() {
        assert_eq!(
            Active {
                kind: Kind::Cpu,
                device_id: 3
            }
            .to_string(),
            "cpu"
        );
        assert_eq!(
            Active {
                kind: Kind::Cuda,
                device_id: 1
            }
            .to_string(),
            "cuda:1"
        );
        assert_eq!(
            Active {
                kind: Kind::TensorRt,
                device_id: 0
            }
            .to_string(),
            "tensorrt:0"
        );
    }

    #[test]
    fn engine_dirs_differ_by_every_key_part() {
        let root = std::path::Path::new("/c");
        let base = engine_dir(root, "abcdef0123456789ffff", 0, false, (224, 224));
        assert_eq!(base, PathBuf::from("/c/abcdef0123456789-gpu0-fp32-224x224"));
        assert_ne!(
            base,
            engine_dir(root, "bbcdef0123456789ffff", 0, false, (224, 224))
        );
        assert_ne!(
            base,
            engine_dir(root, "abcdef0123456789ffff", 1, false, (224, 224))
        );
        assert_ne!(
            base,
            engine_dir(root, "abcdef0123456789ffff", 0, true, (224, 224))
        );
        assert_ne!(
            base,
            engine_dir(root, "abcdef0123456789ffff", 0, false, (260, 260))
        );
    }

    #[test]
    fn configured_cache_dir_wins() {
        let o = ProviderOptions {
            engine_cache_dir: Some(PathBuf::from("/tmp/x")),
            ..Default::default()
        };
        assert_eq!(o.engine_cache_root(), PathBuf::from("/tmp/x"));
        assert!(
            ProviderOptions::default()
                .engine_cache_root()
                .ends_with("imgclassify/tensorrt")
        );
    }
}
