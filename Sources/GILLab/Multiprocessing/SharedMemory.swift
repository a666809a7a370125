#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A POSIX shared-memory object mapped into this process: `--transfer shm`, what
/// `multiprocessing.shared_memory.SharedMemory` wraps.
///
/// The creator writes the input once; each worker opens the name read-only and maps it, so
/// the input crosses no pipe and is copied once per worker, when the worker builds from it.
final class SharedMemory {
    /// The object's name, `/gillab-<pid>-<n>`.
    let name: String
    /// The mapping.
    let bytes: UnsafeMutableRawBufferPointer
    private let owner: Bool

    private static let counter = Atomic<Int>(0)

    /// Creates a new object of `count` bytes (at least one page is mapped) and maps it
    /// read-write. The object is unlinked when this value goes.
    init(creating count: Int) throws(WorkerError) {
        let n = Self.counter.wrappingAdd(1, ordering: .relaxed).oldValue
        name = "/gillab-\(getpid())-\(n)"
        owner = true
        let fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0o600)
        guard fd >= 0 else { throw .system(systemError("shm_open \(name)")) }
        defer { close(fd) }
        guard ftruncate(fd, off_t(max(count, 1))) == 0 else {
            let message = systemError("ftruncate \(name) to \(count) bytes")
            shm_unlink(name)
            throw .system(message)
        }
        guard let base = mmap(nil, max(count, 1), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            let message = systemError("mmap \(name)")
            shm_unlink(name)
            throw .system(message)
        }
        bytes = UnsafeMutableRawBufferPointer(start: base, count: count)
    }

    /// Opens an object another process created, and maps it read-only.
    init(opening name: String, count: Int) throws(WorkerError) {
        self.name = name
        owner = false
        let fd = shm_open(name, O_RDONLY, 0)
        guard fd >= 0 else { throw .system(systemError("shm_open \(name)")) }
        defer { close(fd) }
        guard let base = mmap(nil, max(count, 1), PROT_READ, MAP_SHARED, fd, 0), base != MAP_FAILED else {
            throw .system(systemError("mmap \(name)"))
        }
        bytes = UnsafeMutableRawBufferPointer(start: base, count: count)
    }

    deinit {
        munmap(bytes.baseAddress, max(bytes.count, 1))
        if owner { shm_unlink(name) }
    }
}
