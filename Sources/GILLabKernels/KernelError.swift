import CKernels

/// Why a kernel refused its arguments.
public enum KernelError: Error, Equatable, CustomStringConvertible {
    /// A matrix dimension is negative or too large.
    case invalidShape(rows: Int, columns: Int)
    /// The operands' shapes do not conform; the message says how.
    case shapeMismatch(String)
    /// A parameter is out of range; the message names it and its value.
    case invalidArgument(String)
    /// The C kernel returned a status other than `CK_OK`.
    case status(name: String, message: String)

    /// A one-line message naming the bad value.
    public var description: String {
        switch self {
        case .invalidShape(let rows, let columns):
            "invalid matrix shape \(rows)×\(columns)"
        case .shapeMismatch(let detail):
            "shape mismatch: \(detail)"
        case .invalidArgument(let detail):
            "invalid argument: \(detail)"
        case .status(let name, let message):
            "\(name): \(message)"
        }
    }

    /// Throws when `status` is not `CK_OK`.
    static func check(_ status: ck_status) throws(KernelError) {
        guard status != CK_OK else { return }
        let code = Int32(bitPattern: status.rawValue)
        throw .status(name: String(cString: ck_status_name(code)), message: String(cString: ck_strerror(code)))
    }
}
