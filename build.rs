fn main() {
    gst_plugin_version_helper::info();
    // Installed builds look for the models and ONNX Runtime under this folder.
    println!("cargo:rerun-if-env-changed=IMGCLASSIFY_INSTALLED_DATADIR");
    inference_protocol();
}

/// The KServe v2 client (`inference-server`), from the vendored proto with the protoc that
/// protoc-bin-vendored ships, so building needs neither a system protoc nor the network.
fn inference_protocol() {
    let proto = "proto/grpc_predict_v2.proto";
    println!("cargo:rerun-if-changed={proto}");
    match protoc_bin_vendored::protoc_bin_path() {
        // SAFETY: build scripts are single-threaded; nothing else reads the environment.
        Ok(protoc) => unsafe { std::env::set_var("PROTOC", protoc) },
        Err(e) => panic!("no vendored protoc for this host: {e}"),
    }
    if let Err(e) = tonic_prost_build::configure()
        .build_server(false)
        .compile_protos(&[proto], &["proto"])
    {
        panic!("compiling {proto}: {e}");
    }
}
