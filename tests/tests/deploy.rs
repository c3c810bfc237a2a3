//! The deployment files pass the checks CI runs on them (`scripts/check-deploy.sh`: Kubernetes
//! schemas and KEDA's CRDs, every compose mode, hadolint, shellcheck, the monitoring files), so
//! the README's `cargo test --workspace` covers them too.

use std::path::Path;
use std::process::Command;

#[test]
fn deployment_files_pass_check_deploy() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    // The script names any missing tool itself and fails: nothing here is skipped.
    let out = Command::new("bash")
        .arg("scripts/check-deploy.sh")
        .current_dir(root)
        .output()
        .expect("cannot run bash");
    assert!(
        out.status.success(),
        "scripts/check-deploy.sh failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}
