//! Running the project's programs (examples, pipeline scripts, gst-launch-1.0) in their
//! own processes, with the plugin that `cargo test` has just built
//! (target/<profile>/libgstimgclassify.so).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PLUGIN: &str = "libgstimgclassify.so";

/// A path in the tests' scratch folder.
pub fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// A folder holding only the freshly built plugin, for GST_PLUGIN_PATH. The library is
/// built by `cargo test` itself (the crate is a cdylib too) next to the test binaries'
/// `deps/` folder; copying it keeps GStreamer from scanning everything else there.
/// Copied once per test process, before any test starts a program that loads it.
pub fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(copy_plugin)
}

fn copy_plugin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let deps = exe.parent().expect("deps folder");
    let candidates = [
        deps.parent().map(|p| p.join(PLUGIN)),
        Some(deps.join(PLUGIN)),
    ];
    // `cargo test` writes the library to deps/ only; the copy beside it is what an
    // earlier `cargo build` left, maybe of older code. The newer of the two is this build.
    let built = candidates
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max()
        .map(|(_, p)| p)
        .unwrap_or_else(|| {
            panic!(
                "{PLUGIN} not found next to {}: run `cargo build` (the tests load the built plugin)",
                deps.display()
            )
        });
    let dir = tmp(&format!("plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("plugin folder");
    std::fs::copy(&built, dir.join(PLUGIN)).expect("copy plugin");
    dir
}

/// `program` with the environment that makes GStreamer find this build of the plugin,
/// with a registry of its own so no stale cache is used.
pub fn command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let dir = plugin_dir();
    let mut cmd = Command::new(program);
    cmd.current_dir(ROOT)
        .env("GST_PLUGIN_PATH", dir)
        .env("GST_REGISTRY", dir.join("registry.bin"));
    cmd
}

/// The program's standard output; panics with both outputs when it failed.
pub fn ok(what: &str, output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The system Python: PyGObject (python3-gi) is a Debian package, not in a venv.
pub fn python() -> String {
    let python = std::env::var("IMGCLASSIFY_PYTHON").unwrap_or_else(|_| "/usr/bin/python3".into());
    let probe = Command::new(&python)
        .args([
            "-c",
            "import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst",
        ])
        .output();
    match probe {
        Ok(out) if out.status.success() => python,
        _ => panic!(
            "{python} cannot import PyGObject with GStreamer: install python3-gi and \
             gir1.2-gstreamer-1.0 (scripts/setup.sh --dev does), or set IMGCLASSIFY_PYTHON"
        ),
    }
}

/// Compiles the C example `examples/NAME.c` against gstreamer-1.0 (warnings are errors)
/// and returns the program's path. Each call writes its own file: tests run in parallel,
/// and a program being written cannot be started ("text file busy").
pub fn compile_c_example(name: &str) -> PathBuf {
    static BUILDS: AtomicUsize = AtomicUsize::new(0);
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "gstreamer-1.0"])
        .output()
        .expect("pkg-config runs (install pkg-config)");
    let flags = ok(
        "pkg-config gstreamer-1.0 (install libgstreamer1.0-dev)",
        flags,
    );
    let n = BUILDS.fetch_add(1, Ordering::Relaxed);
    let exe = tmp(&format!("{name}-{}-{n}", std::process::id()));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let build = Command::new(&cc)
        .args(["-Wall", "-Wextra", "-Werror", "-o"])
        .arg(&exe)
        .arg(Path::new(ROOT).join(format!("examples/{name}.c")))
        .args(flags.split_whitespace())
        .output()
        .unwrap_or_else(|e| panic!("{cc} runs: {e}"));
    ok(&format!("compiling examples/{name}.c"), build);
    exe
}
