/// A Python exception raised by interpreter code, or a syntax error in its source.
public struct PyError: Error, Equatable, CustomStringConvertible {
    /// The exception class.
    public enum Kind: String, Sendable {
        /// The source does not parse or compile.
        case syntaxError = "SyntaxError"
        /// A name is not defined.
        case nameError = "NameError"
        /// An operation got an object of the wrong type.
        case typeError = "TypeError"
        /// An argument has the right type but a bad value.
        case valueError = "ValueError"
        /// A sequence index is out of range.
        case indexError = "IndexError"
        /// A dict has no such key.
        case keyError = "KeyError"
        /// Division or modulo by zero.
        case zeroDivisionError = "ZeroDivisionError"
        /// An integer result does not fit in 64 bits.
        case overflowError = "OverflowError"
        /// Calls nested deeper than the interpreter allows.
        case recursionError = "RecursionError"
        /// Anything else.
        case runtimeError = "RuntimeError"
    }

    /// The exception class.
    public var kind: Kind
    /// The message, as Python would print it after the class name.
    public var message: String

    /// Creates an exception.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `Kind: message`, as a Python traceback's last line.
    public var description: String { "\(kind.rawValue): \(message)" }
}
