//! Crash-safe replacement of a file, and opening files without following symlinks.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Mode of every file this crate writes (owner read/write only).
pub(crate) const FILE_MODE: u32 = 0o600;

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` atomically and durably.
///
/// Writes a temporary file (mode 0600) next to `path`, fsyncs it, renames it over `path` and
/// fsyncs the directory. After a crash at any point, `path` holds either its old content or
/// `bytes` in full. On error the temporary file is removed and `path` is unchanged.
///
/// A file being replaced keeps its owner, group and permission bits (minus any access for
/// others): a keyring made by root for a service user stays readable by that user after root
/// rotates it. Changing the owner needs root; without it the owner stays the writer, as with
/// any new file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp.{}.{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let previous = std::fs::symlink_metadata(path).ok().filter(|m| m.is_file());
    let result = (|| {
        let mut file = create_private(&tmp)?;
        if let Some(previous) = &previous {
            keep_owner_and_mode(&file, previous)?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Gives the temporary file the owner, group and mode of the file it replaces.
#[cfg(unix)]
fn keep_owner_and_mode(file: &File, previous: &std::fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mine = file.metadata()?;
    if (mine.uid(), mine.gid()) != (previous.uid(), previous.gid()) {
        // Only root may give a file away; anyone else keeps the old behaviour (the writer
        // owns the new file), which is all it could do before.
        match std::os::unix::fs::fchown(file, Some(previous.uid()), Some(previous.gid())) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(e),
        }
    }
    // Never more than the owner and group could do before, never anything for others.
    let mode = previous.mode() & 0o770;
    file.set_permissions(std::fs::Permissions::from_mode(mode | 0o600))
}

#[cfg(not(unix))]
fn keep_owner_and_mode(_file: &File, _previous: &std::fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn no_follow(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// Whether `e` is what opening a symlink with `O_NOFOLLOW` gives.
pub(crate) fn is_symlink_error(e: &io::Error) -> bool {
    #[cfg(unix)]
    {
        e.raw_os_error() == Some(libc::ELOOP)
    }
    #[cfg(not(unix))]
    {
        let _ = e;
        false
    }
}

/// Creates a new file that only its owner may read, failing if it exists (also if it is a
/// symlink: `create_new` never follows one).
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

/// Opens (creating if needed, mode 0600) a file for appending. A symlink in its place is
/// refused (`O_NOFOLLOW`): whoever planted it would otherwise choose which file is appended to.
pub(crate) fn open_append_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    no_follow(&mut options);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(FILE_MODE);
    }
    options.open(path)
}

/// Opens a file for reading, refusing a symlink in its place (`O_NOFOLLOW`).
pub(crate) fn open_read_no_follow(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    no_follow(&mut options);
    options.open(path)
}

/// Reads a whole file, refusing a symlink in its place (`O_NOFOLLOW`).
pub(crate) fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_read_no_follow(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Flushes a directory entry change (create, rename, unlink) to disk.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}
