/// The places in code a lock's threads report, each named once and then passed around as a
/// small integer: what a hold is charged to when others wait behind it (``WaitAttribution``).
///
/// An interpreter names the line of each of its poll points (`countdown.py:2 in unit (while n > 0:)`)
/// and each native function it calls holding the lock (`dgemm (hold)`); index 0,
/// ``glue``, is everywhere else: the interpreter's own glue between calls into Python-level
/// code. The same name always gets the same index, from any thread, so threads running the
/// same program share their locations.
///
/// ```swift
/// let line = gil.locations.index(of: "countdown.py:2 in unit (while n > 0:)")
/// thread.enter(location: line)   // recorded only when the lock has an event hook
/// ```
public final class LockLocations: @unchecked Sendable {
    /// The interpreter's own glue: a thread that is in no named location.
    public static let glue = 0
    /// ``glue``'s name.
    public static let glueName = "(interpreter glue)"

    private let mutex = PosixMutex()
    /// Guarded by `mutex`.
    private var names = [LockLocations.glueName]
    /// Guarded by `mutex`.
    private var indices = [LockLocations.glueName: LockLocations.glue]

    init() {}

    /// The index of the location called `name`, made on first use.
    public func index(of name: String) -> Int {
        mutex.lock()
        defer { mutex.unlock() }
        if let index = indices[name] { return index }
        names.append(name)
        indices[name] = names.count - 1
        return names.count - 1
    }

    /// The name of location `index`, or `location <index>` for one never made.
    public func name(of index: Int) -> String {
        mutex.lock()
        defer { mutex.unlock() }
        return names.indices.contains(index) ? names[index] : "location \(index)"
    }

    /// Every name, by index.
    public var all: [String] {
        mutex.lock()
        defer { mutex.unlock() }
        return names
    }
}
