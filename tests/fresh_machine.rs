//! `scripts/check-deps` on a fresh machine that cannot reach the registry: an empty cargo home
//! whose crates.io points at a closed port. It must fail before its offline checks, saying which
//! crates of Cargo.lock are missing, instead of cargo-deny's "--offline was specified".

use std::path::Path;
use std::process::Command;

#[test]
fn the_dependency_check_names_the_missing_crates_when_the_registry_cannot_be_reached() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = std::env::temp_dir().join(format!("mdi-sensor-key-cargo-home-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&home).unwrap();
    // Port 9 (discard) on loopback: nothing listens, so every download is refused at once.
    std::fs::write(
        home.join("config.toml"),
        "[source.crates-io]\nreplace-with = \"unreachable\"\n\n[source.unreachable]\nregistry = \"sparse+http://127.0.0.1:9/index/\"\n",
    )
    .unwrap();

    let output = Command::new("bash")
        .arg(root.join("scripts/check-deps"))
        .env("CARGO_HOME", &home)
        .env("CARGO_NET_RETRY", "0")
        .output()
        .unwrap();
    std::fs::remove_dir_all(&home).ok();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cargo fetch --locked failed"), "{stderr}");
    // A crate only the Windows build uses: the kind a Linux build never downloads.
    assert!(stderr.contains("windows-sys@"), "{stderr}");
    assert!(stderr.contains("crates of Cargo.lock are not in"), "{stderr}");
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("cargo deny check"),
        "the offline checks must not run without the crates"
    );
}
