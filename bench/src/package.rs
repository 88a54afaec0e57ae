//! The deployment package: the binary's size, whether it is stripped, and the size of the zip
//! Lambda would be given (`bootstrap` at the root, deflated, mode 0755).

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use zip::write::SimpleFileOptions;

#[derive(Debug, Clone, Serialize)]
pub struct Package {
    pub binary_bytes: u64,
    pub zip_bytes: u64,
    /// No `.symtab` section: the symbol table was stripped.
    pub stripped: bool,
}

/// Measures `binary`, writing its zip to `zip_path`.
pub fn measure(binary: &Path, zip_path: &Path) -> Result<Package, String> {
    let bytes = std::fs::read(binary).map_err(|e| format!("{}: {e}", binary.display()))?;
    let file = std::fs::File::create(zip_path).map_err(|e| format!("{}: {e}", zip_path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    zip.start_file("bootstrap", options)
        .and_then(|()| zip.write_all(&bytes).map_err(Into::into))
        .and_then(|()| zip.finish().map(drop))
        .map_err(|e| format!("{}: {e}", zip_path.display()))?;
    let zip_bytes = std::fs::metadata(zip_path)
        .map_err(|e| format!("{}: {e}", zip_path.display()))?
        .len();
    Ok(Package {
        binary_bytes: bytes.len() as u64,
        zip_bytes,
        stripped: !has_section(&bytes, b".symtab"),
    })
}

/// Whether a little-endian ELF64 file has a section called `name`. Anything else is treated
/// as having it, so a file we cannot read is never called stripped.
fn has_section(elf: &[u8], name: &[u8]) -> bool {
    let read = |at: usize, len: usize| -> Option<u64> {
        let bytes = elf.get(at..at + len)?;
        Some(bytes.iter().rev().fold(0, |acc, b| (acc << 8) | u64::from(*b)))
    };
    let parsed = (|| {
        if elf.get(..6)? != b"\x7fELF\x02\x01" {
            return None;
        }
        let table = read(0x28, 8)? as usize;
        let entry = read(0x3a, 2)? as usize;
        let count = read(0x3c, 2)? as usize;
        let names_index = read(0x3e, 2)? as usize;
        let header = |i: usize| table + i * entry;
        let names = read(header(names_index) + 0x18, 8)? as usize;
        let found = (0..count).any(|i| {
            read(header(i), 4)
                .and_then(|offset| elf.get(names + offset as usize..))
                .is_some_and(|rest| rest.starts_with(name) && rest.get(name.len()) == Some(&0))
        });
        Some(found)
    })();
    parsed.unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_found_by_name_and_garbage_is_never_called_stripped() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(has_section(&me, b".text"));
        assert!(!has_section(&me, b".no-such-section"));
        assert!(has_section(b"not an elf file", b".symtab"));
    }
}
