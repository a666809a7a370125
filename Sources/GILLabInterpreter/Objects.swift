internal import CShims
import GILLabLock
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import OrderedCollections
import Synchronization

/// The type tag of an interpreter object. The eval loop switches on it instead of asking the
/// Swift runtime for a dynamic cast, as CPython's fast paths test `Py_TYPE(o) == &PyLong_Type`.
public enum PyKind: UInt8, Sendable {
    /// `None`.
    case none
    /// `True` or `False`.
    case bool
    /// A 64-bit integer.
    case int
    /// A double.
    case float
    /// A string.
    case str
    /// A list.
    case list
    /// A dict keyed by ints and strings.
    case dict
    /// A function defined in interpreter code.
    case function
    /// A native function registered from Swift.
    case native
    /// The iterator a `for` loop runs.
    case iterator
    /// An object of a type that native code defines (``PyExtensionObject``).
    case `extension`
    /// An immutable sequence.
    case tuple
    /// `lower:upper:step`, as an index.
    case slice
    /// A module (`import time`).
    case module
    /// An exception object (`except ValueError as e`).
    case exception
    /// An exception class (`ValueError`).
    case exceptionType
    /// `range(start, stop, step)`: a lazy sequence of ints.
    case range
    /// `dict.keys()`, `values()` or `items()`: a live view of a dict.
    case dictView
}

/// An interpreter object: boxed and reference-counted, like a CPython `PyObject`.
///
/// Every value the interpreter handles, small integers included, is one of these, so
/// Python-level work pays for allocation and reference-count traffic as it does in CPython.
///
/// Interpreter objects are deliberately not `Sendable`: they belong to the thread that holds the
/// interpreter lock. In debug builds, making or touching one on a thread that does not hold the
/// lock traps with the thread's name, like CPython's debug allocator and pybind11's GIL checks.
///
/// Reference counts. Swift's ARC keeps every object alive. The eval loop's own references (its
/// value stack and fast locals) are counted by hand, as References.swift explains: under an
/// exclusive lock with plain adds on the object's count word, as a GIL build's `Py_INCREF` does;
/// under `free` the PEP 703 way: every INCREF and DECREF first checks whether the object is
/// immortal (PEP 683) and whether the current thread owns it (`ob_tid`); the owner counts in
/// `ob_ref_local` with plain adds, and any other thread in the atomic `ob_ref_shared` (and
/// atomically on Swift's count). Swift code outside the eval loop counts with ARC's atomics.
open class PyObject {
    /// The object's type.
    public let kind: PyKind
    /// PEP 683: the shared singletons (None, True, False, the small ints) take no reference
    /// traffic, so that threads and interpreters can share them without contending.
    let isImmortal: Bool
    /// PEP 703's `ob_tid`: the thread that made the object, whose references count locally.
    /// 32 bits, like the shared count, so that both fit the padding after `kind` and an int
    /// object stays in the allocator's 48-byte size class, as it was before these fields.
    let owner: UInt32
    /// PEP 703's `ob_ref_shared`: references held on the value stacks of threads that do not own
    /// the object, counted atomically. Kept only under policy `free`.
    let sharedReferences = Atomic<Int32>(0)
    /// PEP 703's `ob_ref_local`: the owner's references from its eval loop, counted with plain
    /// adds by the owner alone. While it is above zero the object holds one Swift count for all of
    /// them. Kept only under policy `free`.
    @exclusivity(unchecked) var localReferences: UInt32 = 0

    init(kind: PyKind, immortal: Bool = false) {
        self.kind = kind
        self.isImmortal = immortal
        self.owner = currentThreadToken()
        #if DEBUG
        assertLockHeld("creating a \(kind) object")
        if !immortal { ObjectAccounting.noteObject(+1) }  // immortal ones are never freed
        #endif
    }

    #if DEBUG
    deinit { if !isImmortal { ObjectAccounting.noteObject(-1) } }
    #endif

    /// Interpreter objects made on the calling thread minus those freed on it; `nil` in release
    /// builds, which do not count. When a program runs on one thread and leaves nothing behind,
    /// this returns to where it was: the reference counts balanced. Counted per thread so that
    /// other threads' programs do not disturb the figure.
    public static var liveObjects: Int? {
        #if DEBUG
        ObjectAccounting.objectBalance
        #else
        nil
        #endif
    }

    /// Python's type name, for error messages.
    public var typeName: String {
        switch kind {
        case .none: "NoneType"
        case .bool: "bool"
        case .int: "int"
        case .float: "float"
        case .str: "str"
        case .list: "list"
        case .dict: "dict"
        case .function: "function"
        case .native: "builtin_function_or_method"
        case .iterator: "iterator"
        case .extension: unsafeDowncast(self, to: PyExtensionObject.self).extensionTypeName
        case .tuple: "tuple"
        case .slice: "slice"
        case .module: "module"
        case .exception: unsafeDowncast(self, to: PyException.self).error.kind.rawValue
        case .exceptionType: "type"
        case .range: "range"
        case .dictView: "dict_" + unsafeDowncast(self, to: PyDictView.self).part.rawValue
        }
    }
}

/// Traps in debug builds when the calling thread does not hold an interpreter lock.
@inline(__always)
func assertLockHeld(_ what: @autoclosure () -> String) {
    #if DEBUG
    if let problem = ObjectAccounting.lockHeldProblem() {
        preconditionFailure("\(problem): \(what()) without holding the interpreter lock")
    }
    #endif
}

// MARK: - Scalars

/// `None`.
public final class PyNone: PyObject {
    private init() { super.init(kind: .none, immortal: true) }
    nonisolated(unsafe) package static let shared = unlockedConstant { PyNone() }
}

/// `True` and `False`.
public final class PyBool: PyObject {
    /// The truth value.
    public let value: Bool
    private init(_ value: Bool) {
        self.value = value
        super.init(kind: .bool, immortal: true)
    }
    nonisolated(unsafe) static let `true` = unlockedConstant { PyBool(true) }
    nonisolated(unsafe) static let `false` = unlockedConstant { PyBool(false) }
    static func of(_ value: Bool) -> PyBool { value ? .true : .false }
}

/// An integer. Python's are unbounded; ours are 64-bit and raise `OverflowError` past that.
public final class PyInt: PyObject {
    /// The value. Immutable to Python code; the eval loop's free list reuses dead ints.
    @exclusivity(unchecked) public private(set) var value: Int
    private init(_ value: Int, immortal: Bool = false) {
        self.value = value
        super.init(kind: .int, immortal: immortal)
    }

    /// CPython keeps -5...256 preallocated (and, since 3.12, immortal), so that common small
    /// integers cost no allocation and no reference traffic.
    nonisolated(unsafe) private static let small: [PyInt] = unlockedConstant { (-5...256).map { PyInt($0, immortal: true) } }

    /// The small ints as the eval loop holds them (immortal, so uncounted), indexed by value + 5.
    nonisolated(unsafe) static let smallRefs: UnsafeMutablePointer<Ref> = {
        let refs = UnsafeMutablePointer<Ref>.allocate(capacity: small.count)
        for (index, int) in small.enumerated() { (refs + index).initialize(to: Ref.passUnretained(int)) }
        return refs
    }()

    /// The integer `value`, shared when it is small, newly allocated otherwise.
    static func make(_ value: Int) -> PyInt {
        (-5...256).contains(value) ? small[value + 5] : PyInt(value)
    }

    /// A new integer object, never the shared one: for the eval loop when its free list is empty.
    static func allocate(_ value: Int) -> PyInt { PyInt(value) }

    /// Brings a free-listed int back as `value` (see `ReferenceCounter`).
    func reuse(_ value: Int) {
        #if DEBUG
        assertLockHeld("creating an int object")
        ObjectAccounting.noteObject(+1)
        #endif
        self.value = value
    }
}

/// A double-precision float.
public final class PyFloat: PyObject {
    /// The value. Immutable to Python code; the eval loop's free list reuses dead floats.
    @exclusivity(unchecked) public private(set) var value: Double
    package init(_ value: Double) {
        self.value = value
        super.init(kind: .float)
    }

    /// Brings a free-listed float back as `value` (see `ReferenceCounter`).
    func reuse(_ value: Double) {
        #if DEBUG
        assertLockHeld("creating a float object")
        ObjectAccounting.noteObject(+1)
        #endif
        self.value = value
    }
}

/// An immutable string.
public final class PyStr: PyObject {
    /// The value.
    public let value: String
    package init(_ value: String) {
        self.value = value
        super.init(kind: .str)
    }
}

// MARK: - Containers

/// A mutable list.
public final class PyList: PyObject {
    @exclusivity(unchecked) private var storage: [PyObject]
    /// Made by a thread whose objects threads running at once may share (a program under
    /// `free`): every access then takes `guardWord`, as PEP 703's per-object critical sections do.
    private let shared: Bool
    private let guardWord = Atomic<UInt8>(0)

    init(_ items: [PyObject] = []) {
        storage = items
        shared = gl_shared_objects() != 0
        super.init(kind: .list)
    }

    deinit { if trashcanNeeded() { releaseIteratively(&storage) } }

    fileprivate func giveUpElements(to pending: inout [PyObject]) {
        pending.append(contentsOf: storage)
        storage = []
    }

    /// The elements. Debug builds trap when read or written without the lock. A list of a
    /// program under `free` is locked for each access; the caller must not touch the same list
    /// again inside a `_modify` (it would wait for itself).
    var items: [PyObject] {
        get {
            assertLockHeld("reading a list")
            if shared { lockObject(guardWord); defer { unlockObject(guardWord) }; return storage }
            return storage
        }
        _modify {
            assertLockHeld("writing a list")
            if shared { lockObject(guardWord) }
            defer { if shared { unlockObject(guardWord) } }
            yield &storage
        }
    }

    /// Runs `body` on the elements in one access: a check and the change it guards happen
    /// together, however many threads run at once.
    @discardableResult
    func mutate<T, E: Error>(_ body: (inout [PyObject]) throws(E) -> T) throws(E) -> T {
        assertLockHeld("writing a list")
        if shared { lockObject(guardWord) }
        defer { if shared { unlockObject(guardWord) } }
        return try body(&storage)
    }

    /// Python's `list[index]` (negative counts from the end), borrowed, for the eval loop's
    /// BINARY_SUBSCR_LIST_INT; `nil` out of range. Reads the element's bits, so that neither the
    /// array nor the element is retained.
    @inline(__always) func borrowedElement(atPythonIndex raw: Int) -> Ref? {
        assertLockHeld("reading a list")
        return storage.withUnsafeBufferPointer { buffer in
            let position = raw < 0 ? raw + buffer.count : raw
            guard position >= 0 && position < buffer.count else { return nil }
            return UnsafeRawPointer(buffer.baseAddress! + position).load(as: Ref.self)
        }
    }

    /// Python's `list[index] = item`, for STORE_SUBSCR_LIST_INT; `false` out of range.
    @inline(__always) func store(_ item: __owned PyObject, atPythonIndex raw: Int) -> Bool {
        assertLockHeld("writing a list")
        let position = raw < 0 ? raw + storage.count : raw
        guard position >= 0 && position < storage.count else { return false }
        storage[position] = item
        return true
    }
}

/// A dictionary keyed by ints, floats, strings, None and tuples of them, in insertion order as
/// Python's dicts are.
public final class PyDict: PyObject {
    @exclusivity(unchecked) private var storage: OrderedDictionary<PyKey, PyObject> = [:]
    /// As ``PyList``'s: lock each access when threads running at once may share the dict.
    private let shared: Bool
    private let guardWord = Atomic<UInt8>(0)

    init() {
        shared = gl_shared_objects() != 0
        super.init(kind: .dict)
    }

    deinit {
        guard trashcanNeeded() else { return }
        var values: [PyObject] = []
        giveUpElements(to: &values)
        releaseIteratively(&values)
    }

    fileprivate func giveUpElements(to pending: inout [PyObject]) {
        pending.append(contentsOf: storage.values)
        storage = [:]
    }

    /// The entries. Debug builds trap when read or written without the lock. Locked per access
    /// for a dict of a program under `free`, as a list is.
    var entries: OrderedDictionary<PyKey, PyObject> {
        get {
            assertLockHeld("reading a dict")
            if shared { lockObject(guardWord); defer { unlockObject(guardWord) }; return storage }
            return storage
        }
        _modify {
            assertLockHeld("writing a dict")
            if shared { lockObject(guardWord) }
            defer { if shared { unlockObject(guardWord) } }
            yield &storage
        }
    }
}

/// Takes an object's own lock (a list's, a dict's, a module's, a shared iterator's): a spin on
/// one byte, yielding the core while another thread holds it (each access is short: a copy or one
/// mutation of the storage).
@inline(__always)
func lockObject(_ word: borrowing Atomic<UInt8>) {
    while word.exchange(1, ordering: .acquiring) != 0 { sched_yield() }
}

@inline(__always)
func unlockObject(_ word: borrowing Atomic<UInt8>) {
    word.store(0, ordering: .releasing)
}

/// A hashable dictionary key: Python's `hash`/`==` for the key types this interpreter supports.
/// Equal numbers are one key, as in Python (`d[1]` and `d[1.0]` and `d[True]` are one entry).
enum PyKey: Hashable {
    case int(Int)
    case float(Double)
    case str(String)
    case none
    case tuple([PyKey])

    /// The key for `object`, or a `TypeError` for an unhashable or unsupported type.
    init(_ object: PyObject) throws(PyError) {
        switch object.kind {
        case .int: self = .int(unsafeDowncast(object, to: PyInt.self).value)
        case .bool: self = .int(unsafeDowncast(object, to: PyBool.self).value ? 1 : 0)
        case .float:
            let value = unsafeDowncast(object, to: PyFloat.self).value
            if let exact = Int(exactly: value) { self = .int(exact) } else { self = .float(value) }
        case .str: self = .str(unsafeDowncast(object, to: PyStr.self).value)
        case .none: self = .none
        case .tuple:
            try Interpreter.enterNested(" while hashing a tuple")
            var keys: [PyKey] = []
            for item in unsafeDowncast(object, to: PyTuple.self).items { keys.append(try PyKey(item)) }
            self = .tuple(keys)
        default: throw PyError(.typeError, "unhashable type: '\(object.typeName)'")
        }
    }

    /// The key as an object. A key made from a float with an integral value comes back as an
    /// int, and one made from True as 1 (Python keeps the first key object; GILLab keeps its
    /// value).
    var object: PyObject {
        switch self {
        case .int(let value): PyInt.make(value)
        case .float(let value): PyFloat(value)
        case .str(let value): PyStr(value)
        case .none: PyNone.shared
        case .tuple(let keys): PyTuple(keys.map(\.object))
        }
    }
}

/// An immutable sequence.
public final class PyTuple: PyObject {
    /// The elements; changed only by the trashcan, in a tuple nothing else references.
    @exclusivity(unchecked) private(set) var items: [PyObject]
    init(_ items: [PyObject]) {
        self.items = items
        super.init(kind: .tuple)
    }

    deinit { if trashcanNeeded() { releaseIteratively(&items) } }

    fileprivate func giveUpElements(to pending: inout [PyObject]) {
        pending.append(contentsOf: items)
        items = []
    }
}

/// A slice (`xs[1:-1]`, `xs[::2]`): each part an int or None.
final class PySlice: PyObject {
    let lower: PyObject, upper: PyObject, step: PyObject
    init(_ lower: PyObject, _ upper: PyObject, _ step: PyObject) {
        (self.lower, self.upper, self.step) = (lower, upper, step)
        super.init(kind: .slice)
    }

    /// The positions this slice picks from a sequence of `count`, as Python's `slice.indices`.
    func positions(count: Int) throws(PyError) -> StrideTo<Int> {
        let (start, stop, step) = try indices(count: count)
        return stride(from: start, to: stop, by: step)
    }

    /// Python's `slice.indices(count)`: the start, stop and step, clamped to the sequence.
    func indices(count: Int) throws(PyError) -> (start: Int, stop: Int, step: Int) {
        func int(_ object: PyObject) throws(PyError) -> Int? {
            switch object.kind {
            case .none: return nil
            case .int: return unsafeDowncast(object, to: PyInt.self).value
            case .bool: return unsafeDowncast(object, to: PyBool.self).value ? 1 : 0
            default: throw PyError(.typeError, "slice indices must be integers or None, not \(object.typeName)")
            }
        }
        let step = try int(self.step) ?? 1
        guard step != 0 else { throw PyError(.valueError, "slice step cannot be zero") }
        func clamp(_ value: Int?, _ fallback: Int) -> Int {
            guard var value else { return fallback }
            if value < 0 { value += count }
            return step > 0 ? min(max(value, 0), count) : min(max(value, -1), count - 1)
        }
        let start = clamp(try int(lower), step > 0 ? 0 : count - 1)
        let stop = clamp(try int(upper), step > 0 ? count : -1)
        return (start, stop, step)
    }
}

/// The iterator behind `for`: over a range, or over a snapshot of a sequence's elements.
///
/// The iterators a `for` loop makes live on one thread's value stack. Those a builtin returns
/// (`enumerate`, `zip`, `reversed`) are objects a program can share; under `free` they lock each
/// step, as a list locks each access, so that two threads looping over one never take the same
/// element or step past the end.
final class PyIterator: PyObject {
    /// The next value (a range) or index (elements), and how many are left: counting rather
    /// than comparing with a stop keeps a range that ends at Int's edge exact.
    @exclusivity(unchecked) private var next: Int
    @exclusivity(unchecked) private var remaining: UInt
    private let step: Int
    @exclusivity(unchecked) private var elements: [PyObject]?
    private let shared: Bool
    private let guardWord = Atomic<UInt8>(0)

    /// The ints `start`, `start + step`, … , `count` of them.
    /// - Parameter visible: whether a program can reach it (a builtin's result).
    init(range start: Int, step: Int, count: UInt, visible: Bool = false) {
        (next, remaining, self.step, elements) = (start, count, step, nil)
        shared = visible && gl_shared_objects() != 0
        super.init(kind: .iterator)
    }

    /// - Parameter visible: whether a program can reach it (a builtin's result).
    init(elements: [PyObject], visible: Bool = false) {
        (next, remaining, step, self.elements) = (0, UInt(elements.count), 1, elements)
        shared = visible && gl_shared_objects() != 0
        super.init(kind: .iterator)
    }

    /// The current position, and the iterator moved past it; `nil` at the end.
    @inline(__always) private func take() -> Int? {
        if shared {
            lockObject(guardWord)
            defer { unlockObject(guardWord) }
            return takeUnguarded()
        }
        return takeUnguarded()
    }

    @inline(__always) private func takeUnguarded() -> Int? {
        guard remaining > 0 else { return nil }
        remaining &-= 1
        let current = next
        // Wraps only past the last element, whose successor is never read.
        next = current &+ step
        return current
    }

    /// The next element as a counted reference for the eval loop's FOR_ITER, or `nil` at the
    /// end: a range's ints come from the free list, a list's elements are borrowed and counted.
    @inline(__always) func nextRef(_ counter: ReferenceCounter) -> Ref? {
        guard let current = take() else { return nil }
        guard let elements else { return counter.int(current) }
        let element = elements.withUnsafeBufferPointer { Ref.passUnretained($0[current]) }
        counter.incref(element)
        return element
    }

    /// The next element, or `nil` at the end.
    func advance() -> PyObject? {
        guard let current = take() else { return nil }
        return elements.map { $0[current] } ?? PyInt.make(current)
    }

    deinit {
        guard trashcanNeeded(), var items = elements else { return }
        elements = nil
        releaseIteratively(&items)
    }

    fileprivate func giveUpElements(to pending: inout [PyObject]) {
        pending.append(contentsOf: elements ?? [])
        elements = nil
    }
}

/// Python's `range`: start, stop and step, and the ints between made only when read, as
/// CPython's range object. `for` iterates it through a ``PyIterator``; `len`, indexing, slicing
/// and `in` compute their answer from the three numbers.
final class PyRange: PyObject {
    let start: Int
    let stop: Int
    let step: Int
    /// The number of elements: at most 2^64 - 1, so it always fits a UInt.
    let length: UInt
    /// The number of elements as an Int; `nil` past `Int.max`, where CPython's `len` raises
    /// OverflowError too.
    var count: Int? { Int(exactly: length) }

    init(_ start: Int, _ stop: Int, _ step: Int) {
        (self.start, self.stop, self.step) = (start, stop, step)
        // CPython's compute_range_length, on the magnitudes: the distance between two Ints and
        // the step's magnitude both fit a UInt.
        let (low, high) = step > 0 ? (start, stop) : (stop, start)
        length = low >= high ? 0 : (UInt(bitPattern: high &- low) - 1) / step.magnitude + 1
        super.init(kind: .range)
    }

    /// The element at `index` (`0..<length`): between start and stop, so the wrapping
    /// arithmetic lands on the true value.
    func element(_ index: Int) -> Int { start &+ index &* step }

    /// A `for` loop's iterator over it.
    func iterator(reversed: Bool = false, visible: Bool = false) -> PyIterator {
        guard reversed, length > 0 else { return PyIterator(range: start, step: step, count: length, visible: visible) }
        let last = start &+ Int(truncatingIfNeeded: length - 1) &* step
        return PyIterator(range: last, step: 0 &- step, count: length, visible: visible)
    }

    /// Whether `value` is one of the elements.
    func contains(_ value: Int) -> Bool {
        if step > 0 {
            guard start <= value && value < stop else { return false }
            return UInt(bitPattern: value &- start) % step.magnitude == 0
        }
        guard stop < value && value <= start else { return false }
        return UInt(bitPattern: start &- value) % step.magnitude == 0
    }

    /// The length, or CPython's OverflowError for a range longer than `Int.max`.
    func checkedCount() throws(PyError) -> Int {
        guard let count else { throw PyError(.overflowError, "Python int too large to convert to C ssize_t") }
        return count
    }

    /// `range[slice]`: another range, as CPython's `compute_slice`.
    func slice(_ slice: PySlice) throws(PyError) -> PyRange {
        // `first` may be one past either end (an empty slice), where element(_:) does not hold.
        let (first, last, by) = try slice.indices(count: try checkedCount())
        func at(_ index: Int) -> Int? {
            let (offset, offsetOverflow) = index.multipliedReportingOverflow(by: step)
            let (value, valueOverflow) = start.addingReportingOverflow(offset)
            return offsetOverflow || valueOverflow ? nil : value
        }
        let (newStep, stepOverflow) = step.multipliedReportingOverflow(by: by)
        guard !stepOverflow, let newStart = at(first), let newStop = at(last) else {
            throw PyError(.overflowError, "the slice of range(\(start), \(stop), \(step)) leaves 64-bit ints")
        }
        return PyRange(newStart, newStop, newStep)
    }
}

/// `dict.keys()`, `dict.values()` and `dict.items()`: a live view, as CPython's. Reading it reads
/// the dict as it is now; it cannot be indexed.
final class PyDictView: PyObject {
    enum Part: String { case keys, values, items }
    /// `nil` only once the trashcan has taken it, in a view nothing else references.
    @exclusivity(unchecked) private var held: PyDict?
    let part: Part

    init(_ dict: PyDict, _ part: Part) {
        (held, self.part) = (dict, part)
        super.init(kind: .dictView)
    }

    var dict: PyDict { held.unsafelyUnwrapped }

    deinit {
        guard trashcanNeeded(), let dict = held else { return }
        held = nil
        var pending: [PyObject] = [dict]
        releaseIteratively(&pending)
    }

    fileprivate func giveUpElements(to pending: inout [PyObject]) {
        if let dict = held { pending.append(dict) }
        held = nil
    }

    /// The elements, in the dict's order, as of now.
    var elements: [PyObject] {
        let entries = dict.entries
        switch part {
        case .keys: return entries.keys.map(\.object)
        case .values: return Array(entries.values)
        case .items: return entries.map { PyTuple([$0.key.object, $0.value]) as PyObject }
        }
    }
}

// MARK: - Callables

/// A function defined in Python-level code.
public final class PyFunction: PyObject {
    let code: CodeObject
    /// The values of the last `defaults.count` parameters when a call leaves them out.
    @exclusivity(unchecked) private(set) var defaults: [PyObject]
    init(_ code: CodeObject, defaults: [PyObject] = []) {
        self.code = code
        self.defaults = defaults
        super.init(kind: .function)
    }

    deinit { if trashcanNeeded() { releaseIteratively(&defaults) } }

    fileprivate func giveUpElements(to pending: inout [PyObject]) {
        pending.append(contentsOf: defaults)
        defaults = []
    }
}

// MARK: - The trashcan

/// Below this much stack, containers are freed by the trashcan's loop.
private let trashcanStack = 256 * 1024

/// Whether a container being freed should hand its elements to ``releaseIteratively(_:)``.
/// Freeing a list frees its elements, which free theirs, one Swift deinit inside another: a list
/// nested a million deep (`x = [x]` in a loop) would run the thread out of stack. CPython's
/// trashcan (`Py_TRASHCAN_BEGIN`) defers such frees past a depth; here the test is the stack
/// left, as the interpreter's recursion guard's is.
@inline(__always)
func trashcanNeeded() -> Bool { gl_stack_left() < trashcanStack }

/// Releases `pending` in a loop rather than by recursion: each container that only the loop
/// still references first gives up its own elements to the loop, so that its deinit has nothing
/// left to recurse into.
func releaseIteratively(_ pending: inout [PyObject]) {
    while var object = pending.popLast() {
        guard isKnownUniquelyReferenced(&object) else { continue }
        switch object.kind {
        case .list: unsafeDowncast(object, to: PyList.self).giveUpElements(to: &pending)
        case .tuple: unsafeDowncast(object, to: PyTuple.self).giveUpElements(to: &pending)
        case .dict: unsafeDowncast(object, to: PyDict.self).giveUpElements(to: &pending)
        case .dictView: unsafeDowncast(object, to: PyDictView.self).giveUpElements(to: &pending)
        case .iterator: unsafeDowncast(object, to: PyIterator.self).giveUpElements(to: &pending)
        case .function: unsafeDowncast(object, to: PyFunction.self).giveUpElements(to: &pending)
        default: break
        }
    }
}

/// A native function: our "extension method", written in Swift, called from Python-level code.
///
/// Each is registered with its calling discipline. Its body receives the calling thread and the
/// arguments with the lock held; a body that releases does so through
/// ``/GILLabLock/ThreadState/call(_:reason:_:)``, after copying what it needs out of the argument objects.
public final class PyNative: PyObject {
    /// The name Python code calls it by.
    public let name: String
    /// Whether the body keeps the lock or releases it around its C call.
    public let discipline: CallDiscipline
    let arity: ClosedRange<Int>
    let body: (ThreadState, CallDiscipline, [PyObject]) throws(PyError) -> PyObject
    /// A builtin's body, which takes keywords and sees the calling interpreter; when set,
    /// `body` and `arity` are not used.
    let builtin: ((Interpreter, Arguments) throws(PyError) -> PyObject)?
    /// Its location in the lock's ``/GILLabLock/LockLocations`` (`dgemm (hold)`), made on its
    /// first call when the lock records events; -1 until then. Atomic: under `free` threads that
    /// share the function make its first calls at once (each finds the same index).
    let location = Atomic<Int>(-1)

    init(name: String, discipline: CallDiscipline, arity: ClosedRange<Int>,
         body: @escaping (ThreadState, CallDiscipline, [PyObject]) throws(PyError) -> PyObject) {
        self.name = name
        self.discipline = discipline
        self.arity = arity
        self.body = body
        builtin = nil
        super.init(kind: .native)
    }

    /// A builtin that takes keywords and sees the interpreter that calls it.
    init(builtin name: String, discipline: CallDiscipline = .hold,
         _ body: @escaping (Interpreter, Arguments) throws(PyError) -> PyObject) {
        self.name = name
        self.discipline = discipline
        arity = 0...0
        self.body = { _, _, _ throws(PyError) in PyNone.shared }
        builtin = body
        super.init(kind: .native)
    }
}

/// The base of objects that native code defines, as a C extension defines its own types.
/// Subclasses hold plain data (a matrix, a buffer) that native functions take apart.
open class PyExtensionObject: PyObject {
    /// Python's name for the type.
    public let extensionTypeName: String

    /// Creates an object of the extension type `typeName`. The thread must hold the lock.
    public init(typeName: String) {
        extensionTypeName = typeName
        super.init(kind: .extension)
    }
}

/// A number for the calling thread, unique in the process and cheap to take (a thread-local
/// load): PEP 703's `ob_tid`. Unique because under `free` an object's owner counts its references
/// with plain adds, which two threads taken for one owner would race on.
@inline(__always)
func currentThreadToken() -> UInt32 {
    gl_thread_token()
}

/// Builds a process-wide constant object. Such objects are made once, before any lock exists,
/// and are immutable, so they are exempt from the debug lock check.
func unlockedConstant<T>(_ make: () -> T) -> T {
    #if DEBUG
    return ObjectAccounting.withLockCheckExempt(make)
    #else
    return make()
    #endif
}
