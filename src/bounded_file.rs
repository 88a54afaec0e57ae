//! Reading a file the operator names (the federated token file, the certificate), with a size
//! limit that holds whatever the path turns out to be.
//!
//! A size checked before the read proves nothing about the read: a FIFO or a character device
//! (`/dev/zero`) reports size 0 and never ends, and a file swapped between the check and the read
//! has another size. So the limit is applied to the read itself, on the handle that was opened:
//! at most `limit + 1` bytes are ever read, and one byte more than the limit refuses the file.

use std::io::Read;
use std::path::Path;

use zeroize::Zeroizing;

/// Why a bounded read gave nothing. Names no path and no content.
#[derive(Debug, thiserror::Error)]
pub enum BoundedReadError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is larger than {limit} bytes")]
    TooLarge { limit: u64 },
}

/// The contents of `path`, at most `limit` bytes, in a buffer zeroed when dropped (the file may
/// hold a private key or a token).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, BoundedReadError> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Zeroizing::new(Vec::new());
    // One byte past the limit tells a file at the limit from a larger one.
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(BoundedReadError::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempFile(std::path::PathBuf);

    impl TempFile {
        fn new(contents: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("bounded-{}", uuid::Uuid::new_v4()));
            std::fs::write(&path, contents).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn a_file_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let at = TempFile::new(&[b'a'; 16]);
        assert_eq!(read_bounded(&at.0, 16).unwrap().as_slice(), &[b'a'; 16]);
        let over = TempFile::new(&[b'a'; 17]);
        assert!(matches!(
            read_bounded(&over.0, 16),
            Err(BoundedReadError::TooLarge { limit: 16 })
        ));
    }

    #[test]
    fn dev_zero_which_reports_no_size_and_never_ends_is_refused_after_limit_bytes() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        assert_eq!(
            std::fs::metadata(zero).unwrap().len(),
            0,
            "a size check would let it through"
        );
        assert!(matches!(
            read_bounded(zero, 1024),
            Err(BoundedReadError::TooLarge { limit: 1024 })
        ));
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let missing = std::env::temp_dir().join(format!("bounded-missing-{}", uuid::Uuid::new_v4()));
        assert!(matches!(read_bounded(&missing, 16), Err(BoundedReadError::Io(_))));
    }
}
