//! Whether ONNX Runtime's CPU provider has fast int8 kernels on this CPU.
//!
//! An int8 model runs everywhere, but its speed-up over fp32 depends on the
//! instruction set. With VNNI (x86) or the dot-product instructions (Arm) ONNX
//! Runtime multiplies uint8 by int8 and adds into 32 bits in one instruction.
//! Without them, on AVX2, it needs VPMADDUBSW then VPMADDWD, and VPMADDUBSW's 16-bit
//! pair sums saturate unless the weights are 7-bit, as the built-in int8 models'
//! are (measured in docs/performance.md, "Int8 models").

/// How the CPU provider runs uint8 × int8 products here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Int8Kernels {
    /// One instruction per four products into 32 bits: `avx512vnni`, `avxvnni`,
    /// `dotprod`.
    Fast(&'static str),
    /// Anything else: still correct to within saturation, but the slow path.
    Slow,
}

pub fn int8_kernels() -> Int8Kernels {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512vnni") {
            return Int8Kernels::Fast("avx512vnni");
        }
        if std::arch::is_x86_feature_detected!("avxvnni") {
            return Int8Kernels::Fast("avxvnni");
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            return Int8Kernels::Fast("dotprod");
        }
    }
    Int8Kernels::Slow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_proc_cpuinfo() {
        let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
            return;
        };
        let flags = info
            .lines()
            .find(|l| l.starts_with("flags") || l.starts_with("Features"))
            .unwrap_or_default();
        let has = |f: &str| flags.split_whitespace().any(|w| w == f);
        let fast = has("avx512_vnni") || has("avx_vnni") || has("asimddp");
        assert_eq!(
            matches!(int8_kernels(), Int8Kernels::Fast(_)),
            fast,
            "{flags}"
        );
    }
}
