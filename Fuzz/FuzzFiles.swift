// The scratch files of the fuzz targets that recover a directory (spool-recovery, wal-recovery):
// compiled with their entry point by scripts/fuzz.sh. Plain POSIX calls: a failure here only
// leaves the directory as the recovery under test must cope with anyway.

#if canImport(Glibc)
    import Glibc
#endif

/// A path `<fresh directory in /dev/shm>/<name>`; the fresh directory is made, `name` is not.
func scratchDirectory(_ name: String) -> String {
    var template = Array("/dev/shm/fuzz-\(name)-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        fatalError("mkdtemp failed")
    }
    chmod(made, 0o700)
    return String(cString: made) + "/" + name
}

/// Writes `bytes` to `path`, making its directory first if it is missing.
func writeFile(_ path: String, _ bytes: [UInt8]) {
    mkdir(String(path[..<path.lastIndex(of: "/")!]), 0o700)
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard descriptor >= 0 else { return }
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

/// Removes a directory of files made by ``scratchDirectory(_:)``, and the fresh directory around it.
func removeAll(_ directory: String) {
    if let handle = opendir(directory) {
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { unlink(directory + "/" + name) }
        }
        closedir(handle)
    }
    rmdir(directory)
    rmdir(String(directory[..<directory.lastIndex(of: "/")!]))
}
