internal import CShims

// The eval loop's references: unmanaged, and counted by hand.
//
// Everywhere else in the interpreter, Swift's ARC keeps objects alive, and ARC counts atomically:
// a `lock`-prefixed instruction for every reference taken and dropped. A GIL build of CPython
// pays a plain increment instead (`Py_INCREF` is `op->ob_refcnt++`), because the lock already
// keeps any two threads from touching the same object at once. The value stack and the fast
// locals hold `Ref`s, which ARC does not see, and count them the way the policy says:
//
// - Under an exclusive policy, without the `lock` prefix: a plain add on the same count word ARC
//   uses (`gl_swift_rc.h`), once a start-up check has confirmed the runtime's layout of that word,
//   else the runtime's non-atomic retain and release. Sound for the reason CPython's is: an
//   object is touched only by the thread that holds its interpreter's lock, and taking the lock
//   orders everything the previous holder wrote before it. (Nothing an interpreter allocates
//   crosses to another thread; see InterpretedWorkloads.swift.)
// - Under `free`, where threads do run at once, as PEP 703's biased reference counting does: the
//   thread that made an object (its `ob_tid`) counts its own references in the object's
//   `localReferences` (`ob_ref_local`), a plain field only that thread touches, and while that
//   count is above zero it holds one atomic Swift count for all of them; any other thread counts
//   atomically, on Swift's count and on the model's shared count (`ob_ref_shared`).
// - Never for immortal objects (PEP 683: None, True, False, the small ints), which any thread and
//   any interpreter may share, and which static references keep alive.
//
// A `Ref` on the stack or in a local owns one count; a `Ref` read from one is borrowed until it
// is pushed, stored, or dropped with `decref`.

extension Interpreter {
    /// How the eval loop counts references under an exclusive lock on this machine: "inline"
    /// (a plain add on the object's count word, as `Py_INCREF`) when the start-up check found the
    /// runtime's layout, else "runtime calls" (its non-atomic entry points). Under `free` the
    /// owner's references are counted in the object's own `ob_ref_local` with plain adds either
    /// way, and other threads' atomically.
    public static var referenceCounting: String {
        ReferenceCounter.countsInline ? "inline" : "runtime calls"
    }
}

/// A reference held by the value stack or a fast local.
typealias Ref = Unmanaged<PyObject>

extension Unmanaged where Instance == PyObject {
    /// The object as a Swift reference, for the slow paths (ARC retains it while it is used).
    @inline(__always) var object: PyObject { takeUnretainedValue() }
    // The fast paths read fields through the borrowed reference, which ARC does not touch.
    @inline(__always) var kind: PyKind { _withUnsafeGuaranteedRef { $0.kind } }
    @inline(__always) var isImmortal: Bool { _withUnsafeGuaranteedRef { $0.isImmortal } }
    /// The value of an int; the caller has checked `kind == .int`.
    @inline(__always) var intValue: Int {
        Unmanaged<PyInt>.fromOpaque(toOpaque())._withUnsafeGuaranteedRef { $0.value }
    }
    /// The value of a float; the caller has checked `kind == .float`.
    @inline(__always) var floatValue: Double {
        Unmanaged<PyFloat>.fromOpaque(toOpaque())._withUnsafeGuaranteedRef { $0.value }
    }
}

/// How one interpreter counts the references its eval loop holds, and its free lists.
///
/// CPython 3.11 keeps a free list of up to 100 floats (`PyFloat_MAXFREELIST`) so that float
/// arithmetic does not call the allocator for every result; Python 2 kept one for ints, and 3.14
/// keeps one again for small-magnitude ints. Here both ints and floats have one, per interpreter
/// (so per thread, as 3.13's free-threaded build keeps them): an int or float whose last
/// reference the eval loop drops goes on the list instead of back to `malloc`, and the next result
/// of that type reuses it. Swift code outside the eval loop allocates and frees as usual.
final class ReferenceCounter {
    /// Under `free`: count atomically, and PEP 703's shared count for other threads' objects.
    let biased: Bool
    /// The running thread's `ob_tid`.
    let thread: UInt32
    /// `countsInline` and the small ints, read once: the hot path must not go through a lazy
    /// global's accessor.
    private let inline = ReferenceCounter.countsInline
    private let small = PyInt.smallRefs

    static let freeListCapacity = 100
    private let ints: UnsafeMutablePointer<Unmanaged<PyInt>>
    private let floats: UnsafeMutablePointer<Unmanaged<PyFloat>>
    private let counts: UnsafeMutablePointer<Int>  // [ints, floats], beside the lists for the loop

    init(biased: Bool, thread: UInt32) {
        self.biased = biased
        self.thread = thread
        ints = .allocate(capacity: Self.freeListCapacity)
        floats = .allocate(capacity: Self.freeListCapacity)
        counts = .allocate(capacity: 2)
        counts.initialize(repeating: 0, count: 2)
    }

    deinit {
        for index in 0..<counts[0] { Self.free(ints[index]) }
        for index in 0..<counts[1] { Self.free(floats[index]) }
        ints.deallocate()
        floats.deallocate()
        counts.deallocate()
    }

    /// Drops the count a free list held, which frees the object.
    private static func free<T: PyObject>(_ listed: Unmanaged<T>) {
        #if DEBUG
        ObjectAccounting.noteObject(+1)  // its deinit counts it freed again
        #endif
        listed.release()
    }

    /// Takes a count for `ref`, which is about to be stored on the stack or in a local.
    @inline(__always) func incref(_ ref: Ref) {
        if ref.isImmortal { return }
        if biased {
            biasedIncref(ref)
        } else if inline {
            gl_inline_retain(ref.toOpaque())
        } else {
            gl_nonatomic_retain(ref.toOpaque())
        }
    }

    /// Drops the count `ref` held; the object is freed, or free-listed, when it was the last.
    @inline(__always) func decref(_ ref: Ref) {
        if ref.isImmortal { return }
        if biased { return biasedDecref(ref) }
        let object = ref.toOpaque()
        if inline {
            if !gl_inline_release_unless_last(object) { return }
        } else {
            guard gl_is_uniquely_referenced(object) else { return gl_nonatomic_release(object) }
        }
        free(ref)
    }

    // MARK: PEP 703, under `free`

    /// Whether the running thread made the object: its references are local ones.
    @inline(__always) private func owns(_ ref: Ref) -> Bool {
        ref._withUnsafeGuaranteedRef { $0.owner } == thread
    }

    /// `ob_ref_shared`: the model's count of other threads' references, atomic.
    @inline(__always) private func countShared(_ ref: Ref, _ delta: Int32) {
        ref._withUnsafeGuaranteedRef { _ = $0.sharedReferences.wrappingAdd(delta, ordering: .relaxed) }
    }

    /// Adds one to `ob_ref_local` and returns the count before.
    @inline(__always) private func bumpLocal(_ ref: Ref, _ delta: UInt32) -> UInt32 {
        ref._withUnsafeGuaranteedRef { object in
            let before = object.localReferences
            object.localReferences = before &+ delta
            return before
        }
    }

    @inline(__always) private func biasedIncref(_ ref: Ref) {
        if owns(ref) {
            // The first local reference takes the one atomic count that stands for them all.
            if bumpLocal(ref, 1) == 0 { _ = ref.retain() }
        } else {
            countShared(ref, +1)
            _ = ref.retain()
        }
    }

    @inline(__always) private func biasedDecref(_ ref: Ref) {
        guard owns(ref) else {
            countShared(ref, -1)
            return ref.release()
        }
        guard bumpLocal(ref, 0 &- 1) == 1 else { return }
        // The last local reference: drop the count that stood for them, or keep it on the free
        // list if nothing else holds the object.
        if gl_is_uniquely_referenced(ref.toOpaque()) { return free(ref, atomic: true) }
        ref.release()
    }

    /// Takes the last reference to `ref`'s object: onto its free list when there is room, else
    /// back to the allocator.
    @inline(__always) private func free(_ ref: Ref, atomic: Bool = false) {
        switch ref.kind {
        case .int where counts[0] < Self.freeListCapacity:
            #if DEBUG
            ObjectAccounting.noteObject(-1)
            #endif
            ints[counts[0]] = Unmanaged<PyInt>.fromOpaque(ref.toOpaque())
            counts[0] += 1
        case .float where counts[1] < Self.freeListCapacity:
            #if DEBUG
            ObjectAccounting.noteObject(-1)
            #endif
            floats[counts[1]] = Unmanaged<PyFloat>.fromOpaque(ref.toOpaque())
            counts[1] += 1
        default:
            if atomic { ref.release() } else { gl_nonatomic_release(ref.toOpaque()) }
        }
    }

    /// Whether this runtime lays out an object's count word as `gl_swift_rc.h` reads it, so that
    /// counts can be updated inline instead of through the runtime's entry points: checked once,
    /// on an object of our own, by watching what the runtime's retain and release do to it.
    static let countsInline: Bool = {
        let object = makeProbe()
        defer { gl_nonatomic_release(object) }
        // The runtime's own retain must add exactly what the inline one adds, and its uniqueness
        // test must agree with the word's strong bits; only then is anything written inline.
        let one = gl_rc_word(object)
        guard one & GL_RC_SLOW == 0,
              gl_is_uniquely_referenced(object) == (one & GL_RC_STRONG_EXTRA == 0) else { return false }
        gl_nonatomic_retain(object)
        defer { gl_nonatomic_release(object) }
        guard gl_rc_word(object) == one + GL_RC_ONE, !gl_is_uniquely_referenced(object) else { return false }
        gl_inline_retain(object)
        let three = gl_rc_word(object)
        let dropped = !gl_inline_release_unless_last(object)
        return three == one + 2 * GL_RC_ONE && dropped && gl_rc_word(object) == one + GL_RC_ONE
    }()

    /// An object only the caller references, with one count the caller owns.
    @inline(never) private static func makeProbe() -> UnsafeMutableRawPointer {
        Unmanaged.passRetained(unlockedConstant { PyFloat(0) } as PyObject).toOpaque()
    }

    /// A reference the stack can own, made from one Swift owns (+1): ARC's count moves to the
    /// stack. An immortal object takes no count on the stack, so ARC's is dropped.
    @inline(__always) func adopt(_ object: __owned PyObject) -> Ref {
        let ref = Ref.passRetained(object)
        if ref.isImmortal {
            ref.release()
        } else if biased {
            if !owns(ref) {
                countShared(ref, +1)
            } else if bumpLocal(ref, 1) != 0 {
                ref.release()  // a local count already holds the one atomic count
            }
        }
        return ref
    }

    /// The Swift reference for a value leaving the stack (returned, stored in a container or a
    /// global), which takes over the count the stack held.
    @inline(__always) func export(_ ref: Ref) -> PyObject {
        if ref.isImmortal { return ref.takeUnretainedValue() }
        if biased {
            if !owns(ref) {
                countShared(ref, -1)
            } else if bumpLocal(ref, 0 &- 1) != 1 {
                return ref.takeUnretainedValue()  // other local references keep the atomic count
            }
        }
        return ref.takeRetainedValue()
    }

    /// An int result, with its count: small ints are shared, others come from the free list
    /// before the allocator.
    @inline(__always) func int(_ value: Int) -> Ref {
        if value >= -5 && value <= 256 { return small[value + 5] }
        if counts[0] > 0 {
            counts[0] -= 1
            let reused = ints[counts[0]]
            reused._withUnsafeGuaranteedRef { $0.reuse(value) }
            if biased { reused._withUnsafeGuaranteedRef { $0.localReferences = 1 } }
            return Ref.fromOpaque(reused.toOpaque())
        }
        return fresh(PyInt.allocate(value))
    }

    /// A float result, with its count, from the free list before the allocator.
    @inline(__always) func float(_ value: Double) -> Ref {
        if counts[1] > 0 {
            counts[1] -= 1
            let reused = floats[counts[1]]
            reused._withUnsafeGuaranteedRef { $0.reuse(value) }
            if biased { reused._withUnsafeGuaranteedRef { $0.localReferences = 1 } }
            return Ref.fromOpaque(reused.toOpaque())
        }
        return fresh(PyFloat(value))
    }

    /// A new object's reference for the stack: its one count moves there, and under `free` it is
    /// the count that stands for the making thread's local references.
    @inline(__always) private func fresh(_ object: __owned PyObject) -> Ref {
        let ref = Ref.passRetained(object)
        if biased { ref._withUnsafeGuaranteedRef { $0.localReferences = 1 } }
        return ref
    }
}
