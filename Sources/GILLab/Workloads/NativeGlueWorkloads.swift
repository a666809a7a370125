// Workloads whose Python-level glue is a Swift loop that polls the eval breaker once per
// element: the kernel is the point, and the glue only feeds it and digests its output.

/// A worker whose only failures are a kernel's.
protocol KernelGlueWorker: WorkloadWorker {
    mutating func runUnit(_ unit: Int, on thread: ThreadState) throws(KernelError) -> UInt64
}

extension KernelGlueWorker {
    mutating func run(unit: Int, on thread: ThreadState) throws(WorkloadError) -> UInt64 {
        do throws(KernelError) { return try runUnit(unit, on: thread) } catch { throw .kernel(error) }
    }
}

extension ThreadState {
    /// A kernel call from Swift glue: `call(discipline)`, and, when the call keeps the lock and
    /// waits are being attributed, at the location `name (hold)`, so that others' waits behind it
    /// are charged to the kernel and not to the glue. `location` keeps the location's index
    /// between calls (-1: not named yet).
    func callKernel<Result, Failure: Error>(_ name: String, _ discipline: CallDiscipline, location: inout Int,
                                            _ body: () throws(Failure) -> Result) throws(Failure) -> Result {
        guard discipline == .hold, tracksLocations else { return try call(discipline, body) }
        if location < 0 { location = lock.locations.index(of: "\(name) (hold)") }
        return try at(location: location, body)
    }
}

// MARK: - stencil

struct StencilWorkload: Workload {
    let size: Int
    var name: String { WorkloadKind.stencil.rawValue }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        let n = size
        do throws(KernelError) {
            return Worker(grid: try Matrix(rows: n, columns: n) { i, j in inputValue(-3, i * n + j) },
                          next: try Matrix(rows: n, columns: n), discipline: discipline)
        } catch {
            throw .kernel(error)
        }
    }

    /// The starting grid, n² doubles.
    func encodedInput() -> [UInt8] {
        var bytes: [UInt8] = []
        do throws(KernelError) {
            bytes.append(try Matrix(rows: size, columns: size) { i, j in inputValue(-3, i * size + j) })
        } catch {
            preconditionFailure("stencil input of a size that made a workload: \(error)")
        }
        return bytes
    }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline,
                    input: UnsafeRawBufferPointer) throws(WorkloadError) -> any WorkloadWorker {
        let n = size
        try checkInput(input, expected: n * n * 8, name)
        let grid = try matrix(from: input, rows: n, columns: n)
        do throws(KernelError) {
            return Worker(grid: grid, next: try Matrix(rows: n, columns: n), discipline: discipline)
        } catch {
            throw .kernel(error)
        }
    }

    struct Worker: KernelGlueWorker {
        var grid: Matrix, next: Matrix
        let discipline: CallDiscipline
        var kernelLocation = -1

        mutating func runUnit(_ unit: Int, on thread: ThreadState) throws(KernelError) -> UInt64 {
            let n = grid.rows
            // The unit sets the top boundary; the sweep carries it one row in.
            grid.withUnsafeMutableBufferPointer { top in
                for j in 0..<n {
                    thread.checkpoint()
                    top[j] = inputValue(unit, j)
                }
            }
            var location = kernelLocation
            try thread.callKernel("stencil5", discipline, location: &location) { () throws(KernelError) in
                try Kernels.stencil(grid, into: &next)
            }
            kernelLocation = location
            var digest = Digest()
            next.withUnsafeBufferPointer { out in
                let second = min(1, n - 1) * n
                for j in 0..<n {
                    thread.checkpoint()
                    digest.add(out[second + j])
                    digest.add(out[j * n + j])
                }
            }
            return digest.value
        }
    }
}

// MARK: - mandelbrot

struct MandelbrotWorkload: Workload {
    let size: Int
    static let maxIterations = 256
    var name: String { WorkloadKind.mandelbrot.rawValue }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        Worker(viewport: .classic(size: size), counts: [UInt32](repeating: 0, count: size), discipline: discipline)
    }

    struct Worker: KernelGlueWorker {
        let viewport: Kernels.Viewport
        var counts: [UInt32]
        let discipline: CallDiscipline
        var kernelLocation = -1

        mutating func runUnit(_ unit: Int, on thread: ThreadState) throws(KernelError) -> UInt64 {
            // Unit k is grid row k mod size, so any unit count covers the image evenly.
            let row = unit % viewport.width
            let (viewport, discipline) = (self.viewport, self.discipline)
            var location = kernelLocation
            try counts.withUnsafeMutableBufferPointer { (counts) throws(KernelError) in
                try thread.callKernel("mandelbrot", discipline, location: &location) { () throws(KernelError) in
                    try Kernels.mandelbrot(viewport, rows: row..<row + 1,
                                           maxIterations: MandelbrotWorkload.maxIterations, into: counts)
                }
            }
            kernelLocation = location
            var digest = Digest()
            digest.add(UInt64(unit))
            for count in counts {
                thread.checkpoint()
                digest.add(UInt64(count))
            }
            return digest.value
        }
    }
}

// MARK: - hash

struct HashWorkload: Workload {
    let size: Int
    var name: String { WorkloadKind.hash.rawValue }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline) throws(WorkloadError) -> any WorkloadWorker {
        Worker(bytes: encodedInput(), discipline: discipline)
    }

    /// The bytes to hash.
    func encodedInput() -> [UInt8] { (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    func makeWorker(on thread: ThreadState, discipline: CallDiscipline,
                    input: UnsafeRawBufferPointer) throws(WorkloadError) -> any WorkloadWorker {
        try checkInput(input, expected: size, name)
        return Worker(bytes: Array(input), discipline: discipline)
    }

    struct Worker: KernelGlueWorker {
        var bytes: [UInt8]
        let discipline: CallDiscipline
        var kernelLocation = -1

        mutating func runUnit(_ unit: Int, on thread: ThreadState) -> UInt64 {
            thread.checkpoint()
            let (seed, discipline) = (UInt64(unit), self.discipline)
            var location = kernelLocation
            defer { kernelLocation = location }
            return bytes.withUnsafeBytes { bytes in
                thread.callKernel("fnv1a", discipline, location: &location) { Kernels.fnv1a(bytes, seed: seed) }
            }
        }
    }
}

