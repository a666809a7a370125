import GILLabInterpreter
import GILLabKernels
import GILLabLock

// `import gillab` in a program run by `gillab exec`: the lab's kernels, each with a
// `release=True|False` keyword, so that one script can call the same kernel holding the lock or
// releasing it around the C call (as a C extension releases with Py_BEGIN_ALLOW_THREADS).

/// The `gillab` module of `gillab exec`.
public enum GILLabModule {
    /// Registers the module with `interpreter`; `import gillab` makes it.
    /// - Parameters:
    ///   - interpreter: the program's interpreter, before the program loads.
    ///   - releasingByDefault: what a kernel call without `release=` does: release the lock
    ///     (`gillab exec`, and `release` rows of `--program`), or keep it (`hold` rows).
    public static func install(in interpreter: Interpreter, releasingByDefault: Bool = true) {
        interpreter.registerModule("gillab") { interpreter in
            return [
                // matrix(n, seed=0): an n×n matrix of values in [0, 1) from a fixed sequence.
                "matrix": interpreter.function("matrix", parameters: ["n", "seed"], required: 1) { interpreter, values throws(PyError) in
                    let n = try integer(values[0], "matrix() n")
                    let seed = try values[1].map { (v) throws(PyError) in try integer(v, "matrix() seed") } ?? 0
                    guard (0...4096).contains(n) else { throw PyError(.valueError, "matrix(): n must be between 0 and 4096, got \(n)") }
                    do throws(KernelError) {
                        return PyMatrix(try Matrix(rows: n, columns: n) { r, c in
                            Double((r &* 31 &+ c &* 17 &+ seed &* 13) % 97) / 97
                        })
                    } catch { throw PyError(.valueError, "matrix(): \(error)") }
                },
                "zeros": interpreter.function("zeros", parameters: ["n"], required: 1) { interpreter, values throws(PyError) in
                    let n = try integer(values[0], "zeros() n")
                    guard (0...4096).contains(n) else { throw PyError(.valueError, "zeros(): n must be between 0 and 4096, got \(n)") }
                    do throws(KernelError) { return PyMatrix(try Matrix(rows: n, columns: n)) } catch { throw PyError(.valueError, "zeros(): \(error)") }
                },
                "get": interpreter.function("get", parameters: ["m", "row", "column"], required: 3) { interpreter, values throws(PyError) in
                    let m = try matrix(values[0], "get")
                    let (r, c) = try position(m, values[1], values[2], "get")
                    return interpreter.float(m.matrix[r, c])
                },
                "set": interpreter.function("set", parameters: ["m", "row", "column", "value"], required: 4) { interpreter, values throws(PyError) in
                    let m = try matrix(values[0], "set")
                    let (r, c) = try position(m, values[1], values[2], "set")
                    guard let value = interpreter.doubleValue(of: values[3]!) else {
                        throw PyError(.typeError, "set(): the value must be a number, got '\(values[3]!.typeName)'")
                    }
                    m.matrix[r, c] = value
                    return interpreter.none
                },
                "checksum": interpreter.function("checksum", parameters: ["m"], required: 1) { interpreter, values throws(PyError) in
                    let m = try matrix(values[0], "checksum")
                    return interpreter.float(m.matrix.withUnsafeBufferPointer { $0.reduce(0, +) })
                },
                // dgemm(a, b, c, release=True): c = a·b, the lock released around OpenBLAS unless release=False.
                "dgemm": interpreter.function("dgemm", parameters: ["a", "b", "c", "release"], required: 3) { interpreter, values throws(PyError) in
                    let thread = interpreter.thread
                    let (a, b, c) = (try matrix(values[0], "dgemm"), try matrix(values[1], "dgemm"), try matrix(values[2], "dgemm"))
                    // Plain values out of the objects while the lock is held; the product's buffer is
                    // moved out so that the kernel writes it with no interpreter object touched.
                    let (left, right) = (a.matrix, b.matrix)
                    var product = c.matrix
                    c.matrix = PyMatrix.placeholder
                    let failure = thread.call(discipline(releasingByDefault, interpreter, values[3])) { () -> KernelError? in
                        do throws(KernelError) { try Kernels.gemm(left, right, into: &product) } catch { return error }
                        return nil
                    }
                    c.matrix = product
                    if let failure { throw PyError(.valueError, "dgemm(): \(failure)") }
                    return interpreter.none
                },
                // stencil(m, out, release=True): out = the 5-point average of m.
                "stencil": interpreter.function("stencil", parameters: ["m", "out", "release"], required: 2) { interpreter, values throws(PyError) in
                    let thread = interpreter.thread
                    let (m, out) = (try matrix(values[0], "stencil"), try matrix(values[1], "stencil"))
                    let input = m.matrix
                    var output = out.matrix
                    out.matrix = PyMatrix.placeholder
                    let failure = thread.call(discipline(releasingByDefault, interpreter, values[2])) { () -> KernelError? in
                        do throws(KernelError) { try Kernels.stencil(input, into: &output) } catch { return error }
                        return nil
                    }
                    out.matrix = output
                    if let failure { throw PyError(.valueError, "stencil(): \(failure)") }
                    return interpreter.none
                },
                // mandelbrot(size, first_row, rows, max_iter=100, release=True): the escape counts'
                // sum over those rows of a size × size view.
                "mandelbrot": interpreter.function("mandelbrot", parameters: ["size", "first_row", "rows", "max_iter", "release"], required: 3) { interpreter, values throws(PyError) in
                    let thread = interpreter.thread
                    let size = try integer(values[0], "mandelbrot() size")
                    let first = try integer(values[1], "mandelbrot() first_row")
                    let rows = try integer(values[2], "mandelbrot() rows")
                    let iterations = try values[3].map { (v) throws(PyError) in try integer(v, "mandelbrot() max_iter") } ?? 100
                    guard (1...4096).contains(size), first >= 0, rows >= 0, first + rows <= size else {
                        throw PyError(.valueError, "mandelbrot(): rows \(first)..<\(first + rows) do not fit a \(size)×\(size) view")
                    }
                    let result = thread.call(discipline(releasingByDefault, interpreter, values[4])) { () -> Result<Int, KernelError> in
                        var counts = [UInt32](repeating: 0, count: rows * size)
                        do throws(KernelError) {
                            try counts.withUnsafeMutableBufferPointer { (buffer) throws(KernelError) in
                                try Kernels.mandelbrot(.classic(size: size), rows: first..<(first + rows), maxIterations: iterations, into: buffer)
                            }
                        } catch { return .failure(error) }
                        return .success(counts.reduce(0) { $0 + Int($1) })
                    }
                    switch result {
                    case .success(let total): return interpreter.int(total)
                    case .failure(let error): throw PyError(.valueError, "mandelbrot(): \(error)")
                    }
                },
                // fnv1a(text, release=True): the 64-bit FNV-1a hash of the text's UTF-8 bytes.
                "fnv1a": interpreter.function("fnv1a", parameters: ["text", "release"], required: 1) { interpreter, values throws(PyError) in
                    let thread = interpreter.thread
                    guard let text = interpreter.stringValue(of: values[0]!) else {
                        throw PyError(.typeError, "fnv1a() expected a str, got '\(values[0]!.typeName)'")
                    }
                    let bytes = Array(text.utf8)
                    let hash = thread.call(discipline(releasingByDefault, interpreter, values[1])) { bytes.withUnsafeBytes { Kernels.fnv1a($0) } }
                    return interpreter.int(Int(bitPattern: UInt(hash)))
                },
            ]
        }
    }

    private static func discipline(_ byDefault: Bool, _ interpreter: Interpreter, _ value: PyObject?) -> CallDiscipline {
        value.map { interpreter.isTrue($0) } ?? byDefault ? .release : .hold
    }

    private static func integer(_ value: PyObject?, _ what: String) throws(PyError) -> Int {
        guard let value, value.kind == .int || value.kind == .bool, let number = intValue(value) else {
            throw PyError(.typeError, "\(what) must be an int, not '\(value?.typeName ?? "None")'")
        }
        return number
    }

    private static func intValue(_ value: PyObject) -> Int? {
        value.kind == .int ? unsafeDowncast(value, to: PyInt.self).value : value.kind == .bool ? (unsafeDowncast(value, to: PyBool.self).value ? 1 : 0) : nil
    }

    private static func matrix(_ value: PyObject?, _ function: String) throws(PyError) -> PyMatrix {
        guard let value, ObjectIdentifier(type(of: value)) == ObjectIdentifier(PyMatrix.self) else {
            throw PyError(.typeError, "\(function)() expected a matrix, got '\(value?.typeName ?? "None")'")
        }
        return unsafeDowncast(value, to: PyMatrix.self)
    }

    private static func position(_ m: PyMatrix, _ row: PyObject?, _ column: PyObject?, _ function: String) throws(PyError) -> (Int, Int) {
        let (r, c) = (try integer(row, "\(function)() row"), try integer(column, "\(function)() column"))
        guard (0..<m.matrix.rows).contains(r), (0..<m.matrix.columns).contains(c) else {
            throw PyError(.indexError, "\(function)(): (\(r), \(c)) out of range for a \(m.matrix.rows)×\(m.matrix.columns) matrix")
        }
        return (r, c)
    }
}
