//! `cargo xtask header`: generates `include/hexvault.h` from `crates/ffi` with cbindgen;
//! `header --check` fails when the committed header differs from what cbindgen produces.

use std::fs;
use std::path::Path;

use crate::{Failure, StepResult};

/// The header's path, relative to the workspace root.
pub(crate) const HEADER: &str = "include/hexvault.h";

fn generate(root: &Path) -> Result<Vec<u8>, Failure> {
    let crate_dir = root.join("crates/ffi");
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).map_err(|error| {
        Failure(format!(
            "step `header`: cannot read crates/ffi/cbindgen.toml: {error}"
        ))
    })?;
    let bindings = cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .map_err(|error| Failure(format!("step `header`: cbindgen failed: {error}")))?;
    let mut text = Vec::new();
    bindings.write(&mut text);
    Ok(text)
}

/// Writes the header, or with `--check` compares it with the committed one.
pub(crate) fn run(root: &Path, args: &[String]) -> StepResult {
    let generated = generate(root)?;
    let path = root.join(HEADER);
    if args.iter().any(|arg| arg == "--check") {
        let committed = fs::read(&path).unwrap_or_default();
        if committed != generated {
            return Err(Failure(format!(
                "step `header`: {HEADER} is out of date with crates/ffi; run `cargo xtask header` \
                 and commit the result"
            )));
        }
        println!("header: {HEADER} is current");
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)
            .map_err(|error| Failure(format!("step `header`: cannot create include/: {error}")))?;
    }
    fs::write(&path, &generated)
        .map_err(|error| Failure(format!("step `header`: cannot write {HEADER}: {error}")))?;
    println!("header: wrote {HEADER}");
    Ok(())
}
