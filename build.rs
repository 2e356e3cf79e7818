fn main() {
    gst_plugin_version_helper::info();
    // Installed builds look for the models and ONNX Runtime under this folder.
    println!("cargo:rerun-if-env-changed=IMGCLASSIFY_INSTALLED_DATADIR");
}
