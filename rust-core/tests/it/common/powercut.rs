//! A power cut for SQLite, the way SQLite's own crash tests (`test6.c`) make one: a VFS that
//! delegates every call to the default VFS, but first keeps, per file, the old bytes under every
//! write and truncate that no `xSync` has yet made durable. Once the cut trips, every further
//! write, sync, truncate, delete and open fails and changes nothing (the machine is dead). After
//! the connection is closed, [`PowerCut::restore_after_cut`] puts the old bytes back, newest
//! first, which leaves each file exactly as of its last sync, and deletes the `-shm` (memory
//! mapped, so a reboot loses it; SQLite rebuilds it from the WAL).
//!
//! Not modelled: a disk that keeps some unsynced writes and drops others, or tears a sector; and
//! directory entries (a created or deleted file counts as durable at once).
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, c_void, CStr, CString, OsStr};
use std::fs::OpenOptions;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::ffi::{self, sqlite3_file, sqlite3_int64, sqlite3_io_methods, sqlite3_vfs};

/// One registered power-cut VFS, with its own switch and undo logs.
pub struct PowerCut {
    name: String,
    real: RealVfs,
    state: Mutex<State>,
}

/// The default VFS that every call is delegated to.
struct RealVfs(*mut sqlite3_vfs);

// SAFETY: a registered sqlite3_vfs is never changed or freed while the process runs, and SQLite
// (built with SQLITE_THREADSAFE=1) lets its methods be called from any thread.
unsafe impl Send for RealVfs {}
// SAFETY: as above; the pointer is only read.
unsafe impl Sync for RealVfs {}

#[derive(Default)]
struct State {
    /// Mutating calls still allowed before the cut; `None` when not armed.
    left: Option<u64>,
    /// The power is off.
    cut: bool,
    /// Mutating calls since the last `arm`.
    seen: u64,
    /// Per file, the pre-images of the writes and truncates since its last sync, oldest first.
    undo: HashMap<PathBuf, Vec<Undo>>,
    /// Databases opened, whose `-shm` a reboot loses.
    main_dbs: HashSet<PathBuf>,
    /// Files open through this VFS.
    open_files: usize,
    /// Syncs return success but make nothing durable (a disk that lies about its cache): the
    /// check that a power-loss test over a store whose synchronous setting is fixed can fail.
    lying_syncs: bool,
}

impl State {
    /// Whether a mutating call may go ahead; the call that uses up the armed count trips the cut.
    fn alive(&mut self) -> bool {
        if self.cut {
            return false;
        }
        self.seen += 1;
        match &mut self.left {
            Some(0) => {
                self.cut = true;
                false
            }
            Some(n) => {
                *n -= 1;
                true
            }
            None => true,
        }
    }
}

/// What one write or truncate replaced: `old` at `offset`, in a file of `old_size` bytes.
struct Undo {
    offset: u64,
    old: Vec<u8>,
    old_size: u64,
}

/// What [`PowerCut::restore_after_cut`] threw away.
#[derive(Debug, Default, Clone, Copy)]
pub struct Restored {
    /// Files with writes since their last sync.
    pub files: usize,
    /// Writes and truncates undone.
    pub undone: usize,
}

impl PowerCut {
    /// Registers a new power-cut VFS over the default one, under a name of its own.
    pub fn install() -> &'static PowerCut {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let name = format!("salur-powercut-{}", COUNT.fetch_add(1, Ordering::Relaxed));
        // SAFETY: sqlite3_vfs_find initialises SQLite if needed; with NULL it returns the default
        // VFS, an object SQLite keeps for the life of the process.
        let real = unsafe { ffi::sqlite3_vfs_find(null()) };
        assert!(!real.is_null(), "SQLite has no default VFS");
        // SAFETY: `real` is a valid, registered VFS; these fields are only read.
        let (version, size, max_path) = unsafe { ((*real).iVersion, (*real).szOsFile, (*real).mxPathname) };
        let zname: &'static CStr =
            Box::leak(CString::new(name.clone()).expect("no NUL in the name").into_boxed_c_str());
        let cut: &'static PowerCut =
            Box::leak(Box::new(PowerCut { name, real: RealVfs(real), state: Mutex::default() }));
        let vfs: &'static mut sqlite3_vfs = Box::leak(Box::new(sqlite3_vfs {
            // Version 2 (xCurrentTimeInt64); the system-call hooks of version 3 are for SQLite's
            // own test harness.
            iVersion: version.min(2),
            szOsFile: c_int::try_from(HEADER).expect("small header") + size,
            mxPathname: max_path,
            pNext: null_mut(),
            zName: zname.as_ptr(),
            pAppData: std::ptr::from_ref(cut).cast_mut().cast(),
            xOpen: Some(vfs_open),
            xDelete: Some(vfs_delete),
            xAccess: Some(vfs_access),
            xFullPathname: Some(vfs_full_pathname),
            xDlOpen: Some(vfs_dl_open),
            xDlError: Some(vfs_dl_error),
            xDlSym: Some(vfs_dl_sym),
            xDlClose: Some(vfs_dl_close),
            xRandomness: Some(vfs_randomness),
            xSleep: Some(vfs_sleep),
            xCurrentTime: Some(vfs_current_time),
            xGetLastError: Some(vfs_get_last_error),
            xCurrentTimeInt64: Some(vfs_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        }));
        // SAFETY: `vfs` and everything it points to are leaked, so they stay valid and in place
        // for the life of the process, as SQLite requires of a registered VFS. Not the default.
        let rc = unsafe { ffi::sqlite3_vfs_register(vfs, 0) };
        assert_eq!(rc, ffi::SQLITE_OK, "registering {}", cut.name);
        cut
    }

    /// The name to open databases with.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Lets `ops` more mutating calls (write, truncate, sync, delete) through; the next one, and
    /// everything after it, fails: the power is cut.
    pub fn arm(&self, ops: u64) {
        let mut state = self.lock();
        state.left = Some(ops);
        state.seen = 0;
    }

    /// From now on, syncs succeed without making anything durable (or, with `false`, again do).
    pub fn set_lying_syncs(&self, lying: bool) {
        self.lock().lying_syncs = lying;
    }

    /// Whether the power is off.
    pub fn is_cut(&self) -> bool {
        self.lock().cut
    }

    /// Mutating calls since [`PowerCut::arm`], the refused one included.
    pub fn ops_seen(&self) -> u64 {
        self.lock().seen
    }

    /// The reboot: with every file of this VFS closed, puts back what each unsynced write and
    /// truncate replaced, newest first, deletes each database's `-shm`, and turns the power on.
    pub fn restore_after_cut(&self) -> std::io::Result<Restored> {
        let mut state = self.lock();
        if state.open_files > 0 {
            return Err(std::io::Error::other(format!("{} files still open: close them first", state.open_files)));
        }
        let mut restored = Restored::default();
        for (path, log) in state.undo.drain() {
            let file = match OpenOptions::new().write(true).open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            restored.files += 1;
            for undo in log.iter().rev() {
                file.set_len(undo.old_size)?;
                file.write_all_at(&undo.old, undo.offset)?;
                restored.undone += 1;
            }
        }
        for db in state.main_dbs.drain() {
            let mut shm = db.into_os_string();
            shm.push("-shm");
            match std::fs::remove_file(&shm) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        state.cut = false;
        state.left = None;
        Ok(restored)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; if something did, the state is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs a callback's body, turning a panic (which must not unwind into C) into `failed`.
fn guard<T>(failed: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(failed)
}

/// The path SQLite names a file by.
///
/// # Safety
/// `name` is a NUL-terminated string.
unsafe fn path_of(name: *const c_char) -> PathBuf {
    // SAFETY: the caller's promise.
    PathBuf::from(OsStr::from_bytes(unsafe { CStr::from_ptr(name) }.to_bytes()))
}

/// The power cut behind one of our VFSes.
///
/// # Safety
/// `vfs` is a VFS registered by [`PowerCut::install`].
unsafe fn cut_of(vfs: *mut sqlite3_vfs) -> &'static PowerCut {
    // SAFETY: install() set pAppData to a leaked, never freed PowerCut.
    unsafe { &*(*vfs).pAppData.cast::<PowerCut>() }
}

// ---- The VFS: xOpen and xDelete do the work, the rest forward to the default VFS. ----

/// Our sqlite3_file subclass. SQLite allocates `szOsFile` bytes (8-byte aligned) per file: this
/// header first, the default VFS's own file right after it, at offset [`HEADER`].
#[repr(C)]
struct CutFile {
    base: sqlite3_file,
    cut: &'static PowerCut,
    /// The file whose unsynced writes are undone at the cut; `None` for temporary files.
    path: Option<PathBuf>,
}

/// A multiple of `CutFile`'s alignment (8, asserted below), so the real file after it is as
/// aligned as SQLite's own allocation.
const HEADER: usize = std::mem::size_of::<CutFile>();
const _: () = assert!(std::mem::align_of::<CutFile>() <= 8);

/// The default VFS's file inside ours.
///
/// # Safety
/// `file` points at `szOsFile` bytes allocated by SQLite for our VFS.
unsafe fn real_file(file: *mut sqlite3_file) -> *mut sqlite3_file {
    // SAFETY: szOsFile = HEADER + the real VFS's szOsFile, so the offset stays in the allocation.
    unsafe { file.cast::<u8>().add(HEADER).cast() }
}

/// Our header, the real file and its methods.
///
/// # Safety
/// `file` was opened successfully by [`vfs_open`] and not yet closed.
unsafe fn parts<'a>(file: *mut sqlite3_file) -> (&'a CutFile, *mut sqlite3_file, &'a sqlite3_io_methods) {
    // SAFETY: vfs_open wrote a CutFile at `file` and opened the real file after it, whose
    // pMethods is then non-NULL (SQLite's contract for a successful xOpen) and static.
    unsafe {
        let real = real_file(file);
        (&*file.cast::<CutFile>(), real, &*(*real).pMethods)
    }
}

unsafe extern "C" fn vfs_open(
    vfs: *mut sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    guard(ffi::SQLITE_CANTOPEN, || {
        // SAFETY: SQLite calls this on our VFS with `file` pointing at szOsFile writable bytes and
        // `name` NULL or a NUL-terminated path; the real VFS gets its part of those bytes.
        unsafe {
            // SQLite neither uses nor closes a file whose pMethods is NULL after a failed open.
            (*file).pMethods = null();
            let cut = cut_of(vfs);
            if cut.lock().cut {
                return ffi::SQLITE_CANTOPEN;
            }
            let real = real_file(file);
            let Some(open) = (*cut.real.0).xOpen else { return ffi::SQLITE_CANTOPEN };
            let rc = open(cut.real.0, name, real, flags, out_flags);
            if rc != ffi::SQLITE_OK || (*real).pMethods.is_null() {
                if !(*real).pMethods.is_null() {
                    if let Some(close) = (*(*real).pMethods).xClose {
                        close(real);
                    }
                }
                return if rc == ffi::SQLITE_OK { ffi::SQLITE_CANTOPEN } else { rc };
            }
            let path = (!name.is_null() && flags & ffi::SQLITE_OPEN_DELETEONCLOSE == 0).then(|| path_of(name));
            let mut state = cut.lock();
            if flags & ffi::SQLITE_OPEN_MAIN_DB != 0 {
                if let Some(p) = &path {
                    state.main_dbs.insert(p.clone());
                }
            }
            state.open_files += 1;
            let methods = methods_for((*(*real).pMethods).iVersion);
            std::ptr::write(file.cast::<CutFile>(), CutFile { base: sqlite3_file { pMethods: methods }, cut, path });
            ffi::SQLITE_OK
        }
    })
}

unsafe extern "C" fn vfs_delete(vfs: *mut sqlite3_vfs, name: *const c_char, sync_dir: c_int) -> c_int {
    guard(ffi::SQLITE_IOERR_DELETE, || {
        // SAFETY: SQLite calls this on our VFS with a NUL-terminated path.
        unsafe {
            let cut = cut_of(vfs);
            let mut state = cut.lock();
            if !state.alive() {
                return ffi::SQLITE_IOERR_DELETE;
            }
            if !name.is_null() {
                state.undo.remove(&path_of(name));
            }
            match (*cut.real.0).xDelete {
                Some(delete) => delete(cut.real.0, name, sync_dir),
                None => ffi::SQLITE_IOERR_DELETE,
            }
        }
    })
}

/// Forwards a VFS method to the default VFS, or answers `$missing` if it has none.
macro_rules! forward_vfs {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        unsafe extern "C" fn $name(vfs: *mut sqlite3_vfs, $($arg: $ty),*) -> $ret {
            guard($missing, || {
                // SAFETY: SQLite calls this on our VFS; the arguments go unchanged to the default
                // VFS, which gets its own VFS pointer.
                unsafe {
                    let real = cut_of(vfs).real.0;
                    match (*real).$method {
                        Some(f) => f(real, $($arg),*),
                        None => $missing,
                    }
                }
            })
        }
    };
}

type DlSym = unsafe extern "C" fn(*mut sqlite3_vfs, *mut c_void, *const c_char);

forward_vfs!(vfs_access, xAccess, ffi::SQLITE_IOERR_ACCESS, (name: *const c_char, flags: c_int, out: *mut c_int) -> c_int);
forward_vfs!(vfs_full_pathname, xFullPathname, ffi::SQLITE_CANTOPEN, (name: *const c_char, n: c_int, out: *mut c_char) -> c_int);
forward_vfs!(vfs_dl_open, xDlOpen, null_mut(), (name: *const c_char) -> *mut c_void);
forward_vfs!(vfs_dl_sym, xDlSym, None, (handle: *mut c_void, symbol: *const c_char) -> Option<DlSym>);
forward_vfs!(vfs_randomness, xRandomness, 0, (n: c_int, out: *mut c_char) -> c_int);
forward_vfs!(vfs_sleep, xSleep, 0, (micros: c_int) -> c_int);
forward_vfs!(vfs_current_time, xCurrentTime, ffi::SQLITE_ERROR, (out: *mut f64) -> c_int);
forward_vfs!(vfs_get_last_error, xGetLastError, 0, (n: c_int, out: *mut c_char) -> c_int);
forward_vfs!(vfs_current_time_int64, xCurrentTimeInt64, ffi::SQLITE_ERROR, (out: *mut sqlite3_int64) -> c_int);

unsafe extern "C" fn vfs_dl_error(vfs: *mut sqlite3_vfs, n: c_int, out: *mut c_char) {
    guard((), || {
        // SAFETY: SQLite calls this on our VFS; the arguments go unchanged to the default VFS.
        unsafe {
            let real = cut_of(vfs).real.0;
            if let Some(f) = (*real).xDlError {
                f(real, n, out);
            }
        }
    });
}

unsafe extern "C" fn vfs_dl_close(vfs: *mut sqlite3_vfs, handle: *mut c_void) {
    guard((), || {
        // SAFETY: as for vfs_dl_error.
        unsafe {
            let real = cut_of(vfs).real.0;
            if let Some(f) = (*real).xDlClose {
                f(real, handle);
            }
        }
    });
}

// ---- The file: writes, truncates and syncs keep the undo log; the rest forward. ----

const fn io_methods(version: c_int) -> sqlite3_io_methods {
    sqlite3_io_methods {
        iVersion: version,
        xClose: Some(file_close),
        xRead: Some(file_read),
        xWrite: Some(file_write),
        xTruncate: Some(file_truncate),
        xSync: Some(file_sync),
        xFileSize: Some(file_size),
        xLock: Some(file_lock),
        xUnlock: Some(file_unlock),
        xCheckReservedLock: Some(file_check_reserved_lock),
        xFileControl: Some(file_control),
        xSectorSize: Some(file_sector_size),
        xDeviceCharacteristics: Some(file_device_characteristics),
        xShmMap: if version >= 2 { Some(file_shm_map) } else { None },
        xShmLock: if version >= 2 { Some(file_shm_lock) } else { None },
        xShmBarrier: if version >= 2 { Some(file_shm_barrier) } else { None },
        xShmUnmap: if version >= 2 { Some(file_shm_unmap) } else { None },
        xFetch: if version >= 3 { Some(file_fetch) } else { None },
        xUnfetch: if version >= 3 { Some(file_unfetch) } else { None },
    }
}

/// One table per io_methods version, so each file offers exactly what its real file does.
static IO_METHODS: [sqlite3_io_methods; 3] = [io_methods(1), io_methods(2), io_methods(3)];

fn methods_for(version: c_int) -> *const sqlite3_io_methods {
    &IO_METHODS[usize::try_from(version.clamp(1, 3) - 1).unwrap_or(0)]
}

unsafe extern "C" fn file_close(file: *mut sqlite3_file) -> c_int {
    guard(ffi::SQLITE_IOERR_CLOSE, || {
        // SAFETY: SQLite closes only a file our xOpen opened, once; after this it frees the bytes
        // without touching them, so dropping our header in place (its path) is the last use.
        unsafe {
            let (ours, real, methods) = parts(file);
            let rc = match methods.xClose {
                Some(close) => close(real),
                None => ffi::SQLITE_OK,
            };
            let cut = ours.cut;
            std::ptr::drop_in_place(file.cast::<CutFile>());
            let mut state = cut.lock();
            state.open_files = state.open_files.saturating_sub(1);
            rc
        }
    })
}

/// The bytes `len` bytes from `offset` replace (those that exist) and the file's size, read
/// through the real file.
///
/// # Safety
/// `real` is an open file of the default VFS and `methods` its methods.
unsafe fn pre_image(
    real: *mut sqlite3_file,
    methods: &sqlite3_io_methods,
    offset: i64,
    len: i64,
) -> Result<Undo, c_int> {
    let mut size: sqlite3_int64 = 0;
    // SAFETY: the caller's promise; `size` outlives the call.
    let rc = match methods.xFileSize {
        Some(file_size) => unsafe { file_size(real, &mut size) },
        None => ffi::SQLITE_IOERR_FSTAT,
    };
    if rc != ffi::SQLITE_OK {
        return Err(rc);
    }
    let end = offset.saturating_add(len).min(size);
    let mut old = vec![0u8; usize::try_from(end.saturating_sub(offset)).unwrap_or(0)];
    if !old.is_empty() {
        let n = c_int::try_from(old.len()).map_err(|_| ffi::SQLITE_IOERR_READ)?;
        // SAFETY: `old` has `n` writable bytes; the range lies inside the file.
        let rc = match methods.xRead {
            Some(read) => unsafe { read(real, old.as_mut_ptr().cast(), n, offset) },
            None => ffi::SQLITE_IOERR_READ,
        };
        if rc != ffi::SQLITE_OK {
            return Err(rc);
        }
    }
    let as_u64 = |v: i64| u64::try_from(v).map_err(|_| ffi::SQLITE_IOERR);
    Ok(Undo { offset: as_u64(offset)?, old, old_size: as_u64(size)? })
}

unsafe extern "C" fn file_write(file: *mut sqlite3_file, buf: *const c_void, amount: c_int, offset: i64) -> c_int {
    guard(ffi::SQLITE_IOERR_WRITE, || {
        // SAFETY: an open file of ours; `buf` holds `amount` bytes, passed on unchanged.
        unsafe {
            let (ours, real, methods) = parts(file);
            // Held across the write, so the log's order is the files' order.
            let mut state = ours.cut.lock();
            if !state.alive() {
                return ffi::SQLITE_IOERR_WRITE;
            }
            if let Some(path) = &ours.path {
                match pre_image(real, methods, offset, i64::from(amount)) {
                    Ok(undo) => state.undo.entry(path.clone()).or_default().push(undo),
                    Err(rc) => return rc,
                }
            }
            match methods.xWrite {
                Some(write) => write(real, buf, amount, offset),
                None => ffi::SQLITE_IOERR_WRITE,
            }
        }
    })
}

unsafe extern "C" fn file_truncate(file: *mut sqlite3_file, size: sqlite3_int64) -> c_int {
    guard(ffi::SQLITE_IOERR_TRUNCATE, || {
        // SAFETY: an open file of ours.
        unsafe {
            let (ours, real, methods) = parts(file);
            let mut state = ours.cut.lock();
            if !state.alive() {
                return ffi::SQLITE_IOERR_TRUNCATE;
            }
            if let Some(path) = &ours.path {
                match pre_image(real, methods, size, i64::MAX) {
                    Ok(undo) => state.undo.entry(path.clone()).or_default().push(undo),
                    Err(rc) => return rc,
                }
            }
            match methods.xTruncate {
                Some(truncate) => truncate(real, size),
                None => ffi::SQLITE_IOERR_TRUNCATE,
            }
        }
    })
}

unsafe extern "C" fn file_sync(file: *mut sqlite3_file, _flags: c_int) -> c_int {
    guard(ffi::SQLITE_IOERR_FSYNC, || {
        // SAFETY: an open file of ours.
        let (ours, _, _) = unsafe { parts(file) };
        let mut state = ours.cut.lock();
        if !state.alive() {
            return ffi::SQLITE_IOERR_FSYNC;
        }
        if let Some(path) = &ours.path {
            if !state.lying_syncs {
                state.undo.remove(path);
            }
        }
        // The real fsync is skipped: what is durable here is what the undo log says, and a disk
        // flush per commit would only slow thousands of cuts down.
        ffi::SQLITE_OK
    })
}

unsafe extern "C" fn file_control(file: *mut sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    guard(ffi::SQLITE_NOTFOUND, || {
        // A size hint may grow the file behind xWrite's back (with a chunk size set); it is only a
        // hint, so it is dropped: files grow by their writes, which the undo log sees.
        if op == ffi::SQLITE_FCNTL_SIZE_HINT {
            return ffi::SQLITE_OK;
        }
        // SAFETY: an open file of ours; `arg` is passed on unchanged.
        unsafe {
            let (_, real, methods) = parts(file);
            match methods.xFileControl {
                Some(control) => control(real, op, arg),
                None => ffi::SQLITE_NOTFOUND,
            }
        }
    })
}

unsafe extern "C" fn file_fetch(file: *mut sqlite3_file, offset: i64, amount: c_int, out: *mut *mut c_void) -> c_int {
    guard(ffi::SQLITE_IOERR_READ, || {
        // SAFETY: an open file of ours and a valid `out`, as SQLite promises.
        unsafe {
            let (_, real, methods) = parts(file);
            match methods.xFetch {
                Some(fetch) => fetch(real, offset, amount, out),
                // No mapping: SQLite reads the page instead.
                None => {
                    *out = null_mut();
                    ffi::SQLITE_OK
                }
            }
        }
    })
}

unsafe extern "C" fn file_shm_barrier(file: *mut sqlite3_file) {
    guard((), || {
        // SAFETY: an open file of ours.
        unsafe {
            let (_, real, methods) = parts(file);
            if let Some(barrier) = methods.xShmBarrier {
                barrier(real);
            }
        }
    });
}

/// Forwards a file method to the real file, or answers `$missing` if it has none.
macro_rules! forward_file {
    ($name:ident, $method:ident, $missing:expr, ($($arg:ident: $ty:ty),*) -> $ret:ty) => {
        unsafe extern "C" fn $name(file: *mut sqlite3_file, $($arg: $ty),*) -> $ret {
            guard($missing, || {
                // SAFETY: an open file of ours; the arguments go unchanged to the real file.
                unsafe {
                    let (_, real, methods) = parts(file);
                    match methods.$method {
                        Some(f) => f(real, $($arg),*),
                        None => $missing,
                    }
                }
            })
        }
    };
}

forward_file!(file_read, xRead, ffi::SQLITE_IOERR_READ, (buf: *mut c_void, amount: c_int, offset: i64) -> c_int);
forward_file!(file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut sqlite3_int64) -> c_int);
forward_file!(file_lock, xLock, ffi::SQLITE_IOERR_LOCK, (level: c_int) -> c_int);
forward_file!(file_unlock, xUnlock, ffi::SQLITE_IOERR_UNLOCK, (level: c_int) -> c_int);
forward_file!(file_check_reserved_lock, xCheckReservedLock, ffi::SQLITE_IOERR_CHECKRESERVEDLOCK, (out: *mut c_int) -> c_int);
forward_file!(file_sector_size, xSectorSize, 4096, () -> c_int);
forward_file!(file_device_characteristics, xDeviceCharacteristics, 0, () -> c_int);
forward_file!(file_shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP, (page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
forward_file!(file_shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, n: c_int, flags: c_int) -> c_int);
forward_file!(file_shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int) -> c_int);
forward_file!(file_unfetch, xUnfetch, ffi::SQLITE_OK, (offset: i64, p: *mut c_void) -> c_int);

/// The files of a cleanly closed database folder, to start each cut from.
pub struct Snapshot(Vec<(std::ffi::OsString, Vec<u8>)>);

impl Snapshot {
    /// Reads every file in `dir`.
    pub fn of(dir: &std::path::Path) -> Self {
        let files = std::fs::read_dir(dir)
            .expect("the folder lists")
            .map(|f| {
                let f = f.expect("an entry");
                (f.file_name(), std::fs::read(f.path()).expect("the file reads"))
            })
            .collect();
        Self(files)
    }

    /// A fresh folder holding a copy of the files.
    pub fn copy(&self) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary folder");
        for (name, bytes) in &self.0 {
            std::fs::write(dir.path().join(name), bytes).expect("the copy writes");
        }
        dir
    }
}

/// A fixed-seed generator for where the cuts land (xorshift64).
pub struct XorShift(pub u64);

impl XorShift {
    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
