import CKernels

/// A dense row-major matrix of `Double` with owned, 64-byte-aligned storage.
///
/// `Matrix` is a value: copies share storage until one of them is written (copy-on-write), so
/// passing one to a thread is cheap and safe.
public struct Matrix: Sendable, Equatable {
    /// Rows.
    public let rows: Int
    /// Columns.
    public let columns: Int
    private var storage: Storage

    /// Storage alignment in bytes: a cache line, and what AVX-512 loads like.
    public static let alignment = 64

    /// Creates a `rows × columns` matrix filled with `value`.
    /// - Throws: ``KernelError/invalidShape(rows:columns:)`` when a dimension is negative or the
    ///   element count overflows.
    public init(rows: Int, columns: Int, repeating value: Double = 0) throws(KernelError) {
        guard rows >= 0, columns >= 0 else { throw .invalidShape(rows: rows, columns: columns) }
        let (count, overflow) = rows.multipliedReportingOverflow(by: columns)
        guard !overflow, count <= Int.max / MemoryLayout<Double>.stride else {
            throw .invalidShape(rows: rows, columns: columns)
        }
        self.rows = rows
        self.columns = columns
        self.storage = Storage(count: count, repeating: value)
    }

    /// Creates a matrix whose element (i, j) is `element(i, j)`.
    public init(rows: Int, columns: Int, element: (Int, Int) -> Double) throws(KernelError) {
        try self.init(rows: rows, columns: columns)
        withUnsafeMutableBufferPointer { buffer in
            for i in 0..<rows {
                for j in 0..<columns { buffer[i * columns + j] = element(i, j) }
            }
        }
    }

    /// Number of elements, `rows * columns`.
    public var count: Int { storage.buffer.count }

    /// Element (i, j). Traps when out of bounds, as an array subscript does.
    public subscript(row: Int, column: Int) -> Double {
        get {
            precondition((0..<rows).contains(row) && (0..<columns).contains(column),
                         "Matrix index (\(row), \(column)) out of bounds for \(rows)×\(columns)")
            return storage.buffer[row * columns + column]
        }
        set {
            precondition((0..<rows).contains(row) && (0..<columns).contains(column),
                         "Matrix index (\(row), \(column)) out of bounds for \(rows)×\(columns)")
            makeUnique()
            storage.buffer[row * columns + column] = newValue
        }
    }

    /// Calls `body` with the elements, row-major.
    public func withUnsafeBufferPointer<R, E: Error>(
        _ body: (UnsafeBufferPointer<Double>) throws(E) -> R
    ) throws(E) -> R {
        try body(UnsafeBufferPointer(storage.buffer))
    }

    /// Calls `body` with the elements for writing, row-major; copies shared storage first.
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Double>) throws(E) -> R
    ) throws(E) -> R {
        makeUnique()
        return try body(storage.buffer)
    }

    /// Equal shapes and equal elements.
    public static func == (lhs: Matrix, rhs: Matrix) -> Bool {
        lhs.rows == rhs.rows && lhs.columns == rhs.columns
            && (lhs.storage === rhs.storage || lhs.storage.buffer.elementsEqual(rhs.storage.buffer))
    }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    // MARK: - C views

    func constView(_ buffer: UnsafeBufferPointer<Double>) -> ck_const_dmatrix {
        ck_const_dmatrix(base: buffer.baseAddress, count: buffer.count, rows: rows, cols: columns, ld: columns)
    }

    /// Runs `body` with a writable C view of the matrix.
    mutating func withMutableView<R>(_ body: (ck_dmatrix) -> R) -> R {
        let (rows, columns) = (self.rows, self.columns)
        return withUnsafeMutableBufferPointer { buffer in
            body(ck_dmatrix(base: buffer.baseAddress, count: buffer.count, rows: rows, cols: columns, ld: columns))
        }
    }

    // MARK: - Storage

    /// Owns the aligned allocation. `@unchecked Sendable` is confined here: `Matrix` only writes
    /// through a uniquely referenced storage.
    private final class Storage: @unchecked Sendable {
        let buffer: UnsafeMutableBufferPointer<Double>

        init(count: Int, repeating value: Double) {
            let raw = UnsafeMutableRawPointer.allocate(
                byteCount: max(count, 1) * MemoryLayout<Double>.stride, alignment: Matrix.alignment)
            buffer = UnsafeMutableBufferPointer(start: raw.bindMemory(to: Double.self, capacity: max(count, 1)), count: count)
            buffer.initialize(repeating: value)
        }

        func copy() -> Storage {
            let other = Storage(count: buffer.count, repeating: 0)
            _ = other.buffer.update(fromContentsOf: buffer)
            return other
        }

        deinit {
            UnsafeMutableRawPointer(buffer.baseAddress!).deallocate()
        }
    }
}
