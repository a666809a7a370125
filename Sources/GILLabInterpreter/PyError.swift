/// A Python exception raised by interpreter code, or a syntax error in its source.
public struct PyError: Error, Equatable, CustomStringConvertible {
    /// The exception class.
    public enum Kind: String, Sendable, CaseIterable {
        /// The root of the classes `except Exception` catches.
        case exception = "Exception"
        /// The source does not parse or compile.
        case syntaxError = "SyntaxError"
        /// A name is not defined.
        case nameError = "NameError"
        /// An object has no such attribute.
        case attributeError = "AttributeError"
        /// An operation got an object of the wrong type.
        case typeError = "TypeError"
        /// An argument has the right type but a bad value.
        case valueError = "ValueError"
        /// The base of `IndexError` and `KeyError`.
        case lookupError = "LookupError"
        /// A sequence index is out of range.
        case indexError = "IndexError"
        /// A dict has no such key.
        case keyError = "KeyError"
        /// The base of `ZeroDivisionError` and `OverflowError`.
        case arithmeticError = "ArithmeticError"
        /// Division or modulo by zero.
        case zeroDivisionError = "ZeroDivisionError"
        /// An integer result does not fit in 64 bits.
        case overflowError = "OverflowError"
        /// A `assert` statement's condition was false.
        case assertionError = "AssertionError"
        /// An `import` of a module that does not exist.
        case importError = "ImportError"
        /// An `import` of a module GILLab does not have.
        case moduleNotFoundError = "ModuleNotFoundError"
        /// Anything else.
        case runtimeError = "RuntimeError"
        /// Calls nested deeper than the interpreter allows.
        case recursionError = "RecursionError"
        /// Valid Python that GILLab's interpreter does not run (classes, generators, ...).
        case notImplementedError = "NotImplementedError"
        /// A blocking call ran out of time (`Queue.get(timeout=)`).
        case timeoutError = "TimeoutError"
        /// `queue.Empty`: `get` found nothing before its timeout.
        case queueEmpty = "Empty"
        /// `queue.Full`: `put` found no room before its timeout.
        case queueFull = "Full"
        /// Ctrl-C or a time limit stopped the program. Not caught by `except Exception`, and
        /// raised again at every poll point until the program ends.
        case keyboardInterrupt = "KeyboardInterrupt"

        /// The class it derives from, as in CPython's exception hierarchy; `nil` for the roots
        /// (`Exception`, `KeyboardInterrupt`: both derive from `BaseException`).
        public var base: Kind? {
            switch self {
            case .exception, .keyboardInterrupt: nil
            case .indexError, .keyError: .lookupError
            case .zeroDivisionError, .overflowError: .arithmeticError
            case .moduleNotFoundError: .importError
            case .recursionError, .notImplementedError: .runtimeError
            case .timeoutError: .exception  // OSError's subclass in CPython; GILLab has no OSError
            default: .exception
            }
        }

        /// Whether an `except` naming `other` catches this class.
        public func isSubclass(of other: Kind) -> Bool {
            var kind: Kind? = self
            while let current = kind {
                if current == other { return true }
                kind = current.base
            }
            return false
        }
    }

    /// One frame of a traceback: where the exception passed.
    public struct Frame: Equatable, Sendable {
        /// The file the code came from.
        public var filename: String
        /// The line (1-based); 0 when unknown.
        public var line: Int
        /// The function, or `<module>`.
        public var function: String
        /// The line's text, trimmed; empty when unknown.
        public var text: String
    }

    /// The exception class.
    public var kind: Kind
    /// The message, as Python would print it after the class name.
    public var message: String
    /// For a syntax error: where in the source it is.
    public var position: Position?
    /// The frames the exception passed through, innermost first (a traceback prints them
    /// outermost first).
    public var traceback: [Frame] = []
    /// The identity of the last frame added, so that a re-raise in the same frame does not add
    /// it twice.
    var lastFrame: ObjectIdentifier?

    /// A place in a source file, for a syntax error's caret.
    public struct Position: Equatable, Sendable {
        /// The file.
        public var filename: String
        /// The line, 1-based.
        public var line: Int
        /// The column, 1-based, in characters.
        public var column: Int
        /// The line's text.
        public var text: String
    }

    /// Creates an exception.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Two errors are equal when their class and message are: where they passed does not count.
    public static func == (a: PyError, b: PyError) -> Bool { a.kind == b.kind && a.message == b.message }

    /// `Kind: message`, as a Python traceback's last line (`Kind` alone for an empty message).
    public var description: String { message.isEmpty ? kind.rawValue : "\(kind.rawValue): \(message)" }

    /// The whole report, as CPython prints an uncaught exception: the traceback, most recent
    /// call last, or for a syntax error the file, line, the line's text and a caret under the
    /// column; then `Kind: message`.
    public var report: String {
        var lines: [String] = []
        if let position {
            lines.append("  File \"\(position.filename)\", line \(position.line)")
            if !position.text.isEmpty {
                let leading = position.text.prefix { $0 == " " }.count
                lines.append("    " + position.text.dropFirst(leading))
                let caret = max(position.column - 1 - leading, 0)
                lines.append("    " + String(repeating: " ", count: caret) + "^")
            }
        } else if !traceback.isEmpty {
            lines.append("Traceback (most recent call last):")
            for frame in traceback.reversed() {
                lines.append("  File \"\(frame.filename)\", line \(frame.line), in \(frame.function)")
                if !frame.text.isEmpty { lines.append("    \(frame.text)") }
            }
        }
        lines.append(description)
        return lines.joined(separator: "\n")
    }

    /// `file:line:column: Kind: message` for a syntax error, `file:line: Kind: message` for an
    /// exception with a traceback (its innermost frame), else the description: one line.
    public var oneLine: String {
        if let position { return "\(position.filename):\(position.line):\(position.column): \(description)" }
        if let frame = traceback.first { return "\(frame.filename):\(frame.line): \(description)" }
        return description
    }
}
