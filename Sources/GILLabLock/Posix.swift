internal import CShims
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Thin owners of pthread objects, for the lock and for the lab and tests above it (package
// access): a mutex, a condition variable, a value guarded by a mutex, a joinable thread, and
// the monotonic clock. Every call that cannot fail in a correct program is checked
// with `precondition`, as CPython's MUTEX_LOCK calls Py_FatalError: a failure here means the
// lock's own state is corrupt, and carrying on would hide it.
//
// Built on pthreads rather than `Synchronization.Mutex`, whose futex-based implementation
// ThreadSanitizer does not understand on this toolchain and reports as a race.

/// A pthread mutex at a stable address. Debug builds use PTHREAD_MUTEX_ERRORCHECK, so unlocking
/// a mutex this thread does not own traps instead of corrupting the lock.
package struct PosixMutex: ~Copyable {
    package let pointer: UnsafeMutablePointer<pthread_mutex_t>

    package init() {
        pointer = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        defer { pthread_mutexattr_destroy(&attributes) }
        #if DEBUG
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_ERRORCHECK))
        #endif
        let err = pthread_mutex_init(pointer, &attributes)
        precondition(err == 0, "pthread_mutex_init failed: \(err)")
    }

    deinit {
        let err = pthread_mutex_destroy(pointer)
        precondition(err == 0, "pthread_mutex_destroy failed: \(err)")
        pointer.deallocate()
    }

    package func lock() {
        let err = pthread_mutex_lock(pointer)
        precondition(err == 0, "pthread_mutex_lock failed: \(err)")
    }

    /// Takes the mutex if it is free, without sleeping.
    /// - Returns: whether this thread now owns it.
    package func tryLock() -> Bool {
        let err = pthread_mutex_trylock(pointer)
        precondition(err == 0 || err == EBUSY, "pthread_mutex_trylock failed: \(err)")
        return err == 0
    }

    package func unlock() {
        let err = pthread_mutex_unlock(pointer)
        precondition(err == 0, "pthread_mutex_unlock failed: \(err)")
    }
}

/// A pthread condition variable on CLOCK_MONOTONIC, so a timed wait is immune to wall-clock jumps.
package struct PosixCondition: ~Copyable {
    package let pointer: UnsafeMutablePointer<pthread_cond_t>

    package init() {
        pointer = .allocate(capacity: 1)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        defer { pthread_condattr_destroy(&attributes) }
        #if os(Linux)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        let err = pthread_cond_init(pointer, &attributes)
        precondition(err == 0, "pthread_cond_init failed: \(err)")
    }

    deinit {
        let err = pthread_cond_destroy(pointer)
        precondition(err == 0, "pthread_cond_destroy failed: \(err)")
        pointer.deallocate()
    }

    package func signal() {
        let err = pthread_cond_signal(pointer)
        precondition(err == 0, "pthread_cond_signal failed: \(err)")
    }

    package func broadcast() {
        let err = pthread_cond_broadcast(pointer)
        precondition(err == 0, "pthread_cond_broadcast failed: \(err)")
    }

    /// Waits until signalled (or a spurious wake-up). `mutex` must be held.
    package func wait(_ mutex: borrowing PosixMutex) {
        let err = pthread_cond_wait(pointer, mutex.pointer)
        precondition(err == 0, "pthread_cond_wait failed: \(err)")
    }

    /// Waits until signalled or until `nanoseconds` have passed. `mutex` must be held.
    /// - Returns: `true` when the wait timed out.
    package func wait(_ mutex: borrowing PosixMutex, nanoseconds: UInt64) -> Bool {
        var deadline = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        #else
        clock_gettime(CLOCK_REALTIME, &deadline)
        #endif
        let total = UInt64(deadline.tv_nsec) + nanoseconds % 1_000_000_000
        deadline.tv_sec += Int(nanoseconds / 1_000_000_000) + Int(total / 1_000_000_000)
        deadline.tv_nsec = Int(total % 1_000_000_000)
        let err = pthread_cond_timedwait(pointer, mutex.pointer, &deadline)
        precondition(err == 0 || err == ETIMEDOUT, "pthread_cond_timedwait failed: \(err)")
        return err == ETIMEDOUT
    }
}

/// A value shared between threads, guarded by a pthread mutex (see the top of this file for why
/// not `Synchronization.Mutex`).
package final class Locked<Value>: @unchecked Sendable {
    private let mutex = PosixMutex()
    private var value: Value  // guarded by mutex

    package init(_ value: Value) { self.value = value }

    package func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        mutex.lock()
        defer { mutex.unlock() }
        return try body(&value)
    }
}

/// One object per OS thread, made on first use and released when the thread ends: a pthread key
/// holding a retained reference. Reading it is a `pthread_getspecific`, so it stays off hot paths.
package final class PerThread<Value: AnyObject>: Sendable {
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    /// - Parameter make: makes a thread's object the first time that thread asks.
    package init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        let err = pthread_key_create(&key) { raw in
            #if canImport(Glibc)
            if let raw { Unmanaged<AnyObject>.fromOpaque(raw).release() }
            #else
            Unmanaged<AnyObject>.fromOpaque(raw).release()
            #endif
        }
        precondition(err == 0, "pthread_key_create failed: \(err)")
        self.key = key
        self.make = make
    }

    /// The calling thread's object, made now if it has none.
    package var value: Value {
        if let existing { return existing }
        let value = make()
        let err = pthread_setspecific(key, Unmanaged.passRetained(value).toOpaque())
        precondition(err == 0, "pthread_setspecific failed: \(err)")
        return value
    }

    /// The calling thread's object, or `nil` if it has not made one.
    package var existing: Value? {
        pthread_getspecific(key).map { Unmanaged<Value>.fromOpaque($0).takeUnretainedValue() }
    }
}

/// A joinable OS thread. The lab uses raw threads, not Swift concurrency, because each
/// simulated Python thread must be exactly one OS thread for the lock's handoff to mean what
/// it means in CPython.
package final class NativeThread {
    private var handle: pthread_t

    /// Starts `body` on a new thread.
    package init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        var handle = pthread_t()
        #else
        var handle: pthread_t? = nil
        #endif
        let err = pthread_create(&handle, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        precondition(err == 0, "pthread_create failed: \(err)")
        #if canImport(Glibc)
        self.handle = handle
        #else
        self.handle = handle!
        #endif
    }

    /// Waits for the thread to finish.
    package func join() {
        let err = pthread_join(handle, nil)
        precondition(err == 0, "pthread_join failed: \(err)")
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// Nanoseconds on the lock's clock (see `gl_clock.h`): the CPU's invariant time-stamp counter,
/// calibrated against CLOCK_MONOTONIC, where there is one (about 11 ns a reading on the 2-core
/// Intel Xeon VM), else a `clock_gettime` vDSO call (22-25 ns there). Every time in one process comes from it, so spans
/// compare; it never allocates.
@inline(__always)
package func monotonicNanoseconds() -> UInt64 {
    gl_clock_ns()
}

/// Nanoseconds on CLOCK_MONOTONIC itself, for a time compared with another process's: each
/// process calibrates its counter on its own.
@inline(__always)
package func systemMonotonicNanoseconds() -> UInt64 {
    gl_clock_system_ns()
}

/// What the lock's clock reads: for `gillab info` and reports.
public enum LockClock {
    /// "TSC (constant_tsc, nonstop_tsc), 2593.5 MHz, calibrated against CLOCK_MONOTONIC", or
    /// "clock_gettime(CLOCK_MONOTONIC)" and why.
    public static var source: String {
        guard gl_clock_uses_tsc() else {
            let asked = getenv("GILLAB_CLOCK").map { String(cString: $0) } == "monotonic"
            return "clock_gettime(CLOCK_MONOTONIC)" + (asked ? " (GILLAB_CLOCK=monotonic)"
                : " (no usable TSC: /proc/cpuinfo lacks constant_tsc or nonstop_tsc, the kernel's clocksource is not tsc, or the calibration was disturbed)")
        }
        let megahertz = Double(gl_clock_tsc_khz()) / 1000
        return "TSC (constant_tsc, nonstop_tsc), \((megahertz * 10).rounded() / 10) MHz, calibrated against CLOCK_MONOTONIC"
    }

    /// Calibrates the clock now if it has not been (2 ms, once per process), so that the
    /// calibration never falls inside a timed span.
    public static func prepare() { gl_clock_setup() }

    /// Whether readings come from the time-stamp counter.
    public static var usesTimeStampCounter: Bool { gl_clock_uses_tsc() }
}

extension Duration {
    /// The duration in whole nanoseconds; a negative duration counts as zero.
    package var wholeNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }
}
