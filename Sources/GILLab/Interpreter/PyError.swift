/// A Python exception raised by interpreter code, or a syntax error in its source.
public struct PyError: Error, Equatable, CustomStringConvertible {
    /// The exception class.
    public enum Kind: String, Sendable {
        case syntaxError = "SyntaxError"
        case nameError = "NameError"
        case typeError = "TypeError"
        case valueError = "ValueError"
        case indexError = "IndexError"
        case keyError = "KeyError"
        case zeroDivisionError = "ZeroDivisionError"
        case overflowError = "OverflowError"
        case recursionError = "RecursionError"
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
