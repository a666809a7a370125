// The parser for the Python subset GILLab runs: the grammar table is in the DocC article
// "Writing a program for GILLab". Valid Python outside the subset (classes, generators, async,
// decorators, ...) is refused here with a NotImplementedError that says what to write instead;
// invalid Python is a SyntaxError. Both name the file, line and column.

// MARK: - Syntax tree

/// A function's parameter and its default value, if any.
struct Parameter {
    var name: String
    var defaultValue: Expr?
}

/// One `for target in iterable if condition ...` clause of a comprehension.
struct Clause {
    var target: Target
    var iterable: Expr
    var conditions: [Expr]
}

/// A piece of an f-string.
enum FormatPiece {
    case literal(String)
    /// `{value!conversion:spec}`; conversion is `r`, `s` or nil.
    case field(Expr, conversion: Character?, spec: String)
}

indirect enum Expr {
    case int(Int)
    case float(Double)
    case str(String)
    case bool(Bool)
    case none
    case name(String)
    case binary(BinaryOp, Expr, Expr)
    case compare(CompareOp, Expr, Expr)
    /// `in`, `not in` (negated).
    case contains(negated: Bool, Expr, Expr)
    /// `is`, `is not` (negated).
    case identical(negated: Bool, Expr, Expr)
    case negate(Expr)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    /// `body if test else orElse`.
    case conditional(test: Expr, body: Expr, orElse: Expr)
    case call(Expr, [Expr], [(String, Expr)])
    case method(Expr, String, [Expr], [(String, Expr)])
    case attribute(Expr, String)
    case index(Expr, Expr)
    /// `lower:upper:step`, only inside `[]`.
    case slice(Expr?, Expr?, Expr?)
    case list([Expr])
    case tuple([Expr])
    case dict([(Expr, Expr)])
    case listComprehension(Expr, [Clause])
    case dictComprehension(Expr, Expr, [Clause])
    case lambda([Parameter], Expr)
    case format([FormatPiece])
}

indirect enum Target {
    case name(String)
    case index(Expr, Expr)
    case attribute(Expr, String)
    case tuple([Target])
}

/// One `except` clause.
struct Handler {
    /// The class (or tuple of classes) it catches; `nil` for a bare `except:`.
    var type: Expr?
    /// The name after `as`.
    var name: String?
    var body: [Stmt]
    var line: Int
}

/// Where a statement starts.
struct SourcePosition {
    var line: Int
    var column: Int
}

indirect enum Stmt {
    case expr(Expr)
    /// `a = b = value`: every target gets the value, left to right.
    case assign([Target], Expr)
    case augAssign(Target, BinaryOp, Expr)
    /// Each branch's condition, body, and the line of its `if` or `elif`.
    case `if`([(condition: Expr, body: [Stmt], line: Int)], [Stmt])
    case `while`(Expr, [Stmt])
    case `for`(Target, Expr, [Stmt])
    case def(String, [Parameter], [Stmt])
    case `return`(Expr?)
    case `break`, `continue`, pass
    case `try`(body: [Stmt], handlers: [Handler], orElse: [Stmt], finally: [Stmt]?)
    /// `raise value`, or a bare `raise` (nil): the exception being handled, again.
    case raise(Expr?)
    case with(Expr, Target?, [Stmt])
    case global([String])
    /// `import module as alias, ...`.
    case `import`([(module: String, alias: String)])
    /// `from module import name as alias, ...`.
    case fromImport(module: String, names: [(name: String, alias: String)])
    case assert(Expr, Expr?)
    case delete([Target])
    /// A statement and where it starts: the parser wraps every statement in one.
    case at(SourcePosition, Stmt)
}

// MARK: - Tokens

enum Token: Equatable {
    case name(String)
    case int(Int)
    case float(Double)
    case str(String)
    /// An f-string's raw pieces: literal text, and each field's source with its column.
    case format([RawFormatPiece])
    case op(String)
    case newline, indent, dedent, end
}

/// An f-string piece before its fields are parsed.
enum RawFormatPiece: Equatable {
    case literal(String)
    case field(String, column: Int)
}

/// A token and where it starts (line and column, 1-based).
struct Located {
    var token: Token
    var line: Int
    var column: Int
}

/// The file a parse reads, for errors that show the line and point at the column.
struct SourceFile {
    let filename: String
    let lines: [Substring]

    init(filename: String, source: String) {
        self.filename = filename
        lines = source.split(separator: "\n", omittingEmptySubsequences: false)
    }

    func error(_ message: String, line: Int, column: Int) -> PyError {
        error(.syntaxError, message, line: line, column: column)
    }

    func error(_ kind: PyError.Kind, _ message: String, line: Int, column: Int) -> PyError {
        var error = PyError(kind, message)
        let text = lines.indices.contains(line - 1) ? String(lines[line - 1]) : ""
        error.position = .init(filename: filename, line: line, column: column, text: text)
        return error
    }
}

struct Lexer {
    private let chars: [Character]
    private let file: SourceFile
    private var i = 0
    private var line = 1
    private var lineStart = 0
    private var tokens: [Located] = []
    private var indents = [0]
    /// Open brackets and where they opened: newlines inside them are not statement ends.
    private var brackets: [(Character, line: Int, column: Int)] = []
    private var depth: Int { brackets.count }

    private init(_ source: String, file: SourceFile) {
        chars = Array(source)
        self.file = file
    }

    /// Splits `source` into tokens, with INDENT/DEDENT for block structure as Python's tokenizer.
    static func tokenize(_ source: String, file: SourceFile) throws(PyError) -> [Located] {
        var lexer = Lexer(source, file: file)
        try lexer.run()
        return lexer.tokens
    }

    private var column: Int { i - lineStart + 1 }

    private func error(_ message: String, column: Int? = nil) -> PyError {
        file.error(message, line: line, column: column ?? self.column)
    }

    private mutating func add(_ token: Token, column: Int) {
        tokens.append(Located(token: token, line: line, column: column))
    }

    private mutating func newLine() {
        line += 1
        lineStart = i
    }

    private mutating func run() throws(PyError) {
        var atLineStart = true
        while i < chars.count {
            if atLineStart && depth == 0 {
                atLineStart = false
                var width = 0
                while i < chars.count, chars[i] == " " || chars[i] == "\t" {
                    if chars[i] == "\t" { throw error("tabs are not supported for indentation; indent with spaces") }
                    width += 1
                    i += 1
                }
                // A blank or comment-only line does not count.
                if i >= chars.count { break }
                if chars[i] == "#" { while i < chars.count, chars[i] != "\n" { i += 1 } }
                if i < chars.count, chars[i] == "\n" || chars[i] == "\r\n" {
                    i += 1
                    newLine()
                    atLineStart = true
                    continue
                }
                if i >= chars.count { break }
                if width > indents.last! {
                    indents.append(width)
                    add(.indent, column: 1)
                } else {
                    while width < indents.last! {
                        indents.removeLast()
                        add(.dedent, column: width + 1)
                    }
                    guard width == indents.last! else {
                        throw error("unindent does not match any outer indentation level")
                    }
                }
            }
            let c = chars[i]
            if c == "\n" || c == "\r\n" {
                if depth == 0, let last = tokens.last, last.token != .newline { add(.newline, column: column) }
                i += 1
                newLine()
                atLineStart = true
                continue
            }
            if c == " " || c == "\t" || c == "\r" || c == "\u{0C}" { i += 1; continue }
            if c == "#" {
                while i < chars.count, chars[i] != "\n", chars[i] != "\r\n" { i += 1 }
                continue
            }
            if c == "\\" {
                // An explicit line join.
                guard i + 1 < chars.count, chars[i + 1] == "\n" || chars[i + 1] == "\r\n" else {
                    throw error("unexpected character after line continuation character")
                }
                i += 2
                newLine()
                continue
            }
            let start = column
            if c.isLetter || c == "_" {
                var j = i
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                let word = String(chars[i..<j])
                if j < chars.count, chars[j] == "\"" || chars[j] == "'", word.count <= 2,
                   word.lowercased().allSatisfy({ "rfb".contains($0) }) {
                    let prefix = word.lowercased()
                    if prefix.contains("b") { throw error("bytes literals are not supported; use str", column: start) }
                    i = j
                    try string(raw: prefix.contains("r"), format: prefix.contains("f"), column: start)
                    continue
                }
                add(.name(word), column: start)
                i = j
            } else if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                try number(column: start)
            } else if c == "\"" || c == "'" {
                try string(raw: false, format: false, column: start)
            } else {
                let three = i + 2 < chars.count ? String(chars[i...i + 2]) : ""
                let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                if ["**=", "//=", ">>=", "<<=", "..."].contains(three) {
                    add(.op(three), column: start)
                    i += 3
                } else if ["==", "!=", "<=", ">=", "//", "**", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=",
                           "->", "<<", ">>", ":="].contains(two) {
                    add(.op(two), column: start)
                    i += 2
                } else if "+-*/%<>=()[]{}:,.;@&|^~".contains(c) {
                    if "([{".contains(c) { brackets.append((c, line, start)) }
                    if ")]}".contains(c) {
                        guard let open = brackets.popLast() else { throw error("unmatched '\(c)'", column: start) }
                        let expected: Character = open.0 == "(" ? ")" : open.0 == "[" ? "]" : "}"
                        guard c == expected else {
                            throw error("closing parenthesis '\(c)' does not match opening parenthesis '\(open.0)'", column: start)
                        }
                    }
                    add(.op(String(c)), column: start)
                    i += 1
                } else {
                    throw error("invalid character '\(c)'", column: start)
                }
            }
        }
        if let open = brackets.last {
            throw file.error("'\(open.0)' was never closed", line: open.line, column: open.column)
        }
        if let last = tokens.last, last.token != .newline { add(.newline, column: column) }
        for _ in indents.dropFirst() { add(.dedent, column: 1) }
        add(.end, column: column)
    }

    private mutating func number(column start: Int) throws(PyError) {
        var j = i
        var isFloat = false
        if chars[i] == "0", i + 1 < chars.count, "xXbBoO".contains(chars[i + 1]) {
            j = i + 2
            while j < chars.count, chars[j].isHexDigit || chars[j] == "_" { j += 1 }
            let digits = String(chars[(i + 2)..<j]).filter { $0 != "_" }
            let radix = "xX".contains(chars[i + 1]) ? 16 : "bB".contains(chars[i + 1]) ? 2 : 8
            guard let value = Int(digits, radix: radix) else {
                throw error("invalid number '\(String(chars[i..<j]))' (or too large for 64 bits)", column: start)
            }
            add(.int(value), column: start)
            i = j
            return
        }
        while j < chars.count, chars[j].isNumber || chars[j] == "." || chars[j] == "_"
                || ((chars[j] == "e" || chars[j] == "E") && j > i)
                || ((chars[j] == "-" || chars[j] == "+") && (chars[j - 1] == "e" || chars[j - 1] == "E")) {
            if chars[j] == "." || chars[j] == "e" || chars[j] == "E" { isFloat = true }
            j += 1
        }
        if j < chars.count, chars[j] == "j" || chars[j] == "J" {
            throw error("complex numbers are not supported", column: start)
        }
        let text = String(chars[i..<j]).filter { $0 != "_" }
        if isFloat, let value = Double(text) {
            add(.float(value), column: start)
        } else if !isFloat, let value = Int(text) {
            add(.int(value), column: start)
        } else {
            throw error("invalid number '\(text)' (GILLab's ints are 64-bit)", column: start)
        }
        i = j
    }

    /// A string literal from `chars[i]`, its opening quote.
    private mutating func string(raw: Bool, format: Bool, column start: Int) throws(PyError) {
        let quote = chars[i]
        let triple = i + 2 < chars.count && chars[i + 1] == quote && chars[i + 2] == quote
        i += triple ? 3 : 1
        let startLine = line
        var text = ""
        var pieces: [RawFormatPiece] = []
        var closed = false
        while i < chars.count {
            let c = chars[i]
            if c == quote && (!triple || (i + 2 < chars.count && chars[i + 1] == quote && chars[i + 2] == quote)) {
                i += triple ? 3 : 1
                closed = true
                break
            }
            if c == "\n" || c == "\r\n" {
                guard triple else { break }
                text.append("\n")
                i += 1
                newLine()
                continue
            }
            if c == "\\" && i + 1 < chars.count {
                let next = chars[i + 1]
                i += 2
                if next == "\n" || next == "\r\n" { newLine(); if raw { text.append("\\\n") }; continue }
                if raw { text.append("\\"); text.append(next); continue }
                switch next {
                case "n": text.append("\n")
                case "t": text.append("\t")
                case "r": text.append("\r")
                case "0": text.append("\0")
                case "\\", "'", "\"": text.append(next)
                case "x", "u", "U", "N", "a", "b", "f", "v", "1"..."7":
                    throw file.error(.notImplementedError, "\\\(next) escapes are not supported; write the character itself",
                                     line: line, column: column - 2)
                default: text.append("\\"); text.append(next)  // Python keeps unknown escapes
                }
                continue
            }
            if format && c == "{" {
                if i + 1 < chars.count, chars[i + 1] == "{" { text.append("{"); i += 2; continue }
                if !text.isEmpty { pieces.append(.literal(text)); text = "" }
                let fieldColumn = column + 1
                var j = i + 1
                var nesting = 0
                var inQuote: Character?
                while j < chars.count {
                    let d = chars[j]
                    if let q = inQuote { if d == q { inQuote = nil } }
                    else if d == "'" || d == "\"" { if d == quote { break }; inQuote = d }
                    else if "([{".contains(d) { nesting += 1 }
                    else if ")]".contains(d) { nesting -= 1 }
                    else if d == "}" { if nesting == 0 { break }; nesting -= 1 }
                    else if d == "\n" { break }
                    j += 1
                }
                guard j < chars.count, chars[j] == "}" else { throw error("f-string: expecting '}'", column: fieldColumn - 1) }
                pieces.append(.field(String(chars[(i + 1)..<j]), column: fieldColumn))
                i = j + 1
                continue
            }
            if format && c == "}" {
                guard i + 1 < chars.count, chars[i + 1] == "}" else { throw error("f-string: single '}' is not allowed") }
                text.append("}")
                i += 2
                continue
            }
            text.append(c)
            i += 1
        }
        guard closed else {
            throw file.error(triple ? "unterminated triple-quoted string literal" : "unterminated string literal",
                             line: startLine, column: start)
        }
        if format {
            if !text.isEmpty { pieces.append(.literal(text)) }
            tokens.append(Located(token: .format(pieces), line: startLine, column: start))
        } else {
            tokens.append(Located(token: .str(text), line: startLine, column: start))
        }
    }
}

// MARK: - Parser

struct Parser {
    private var tokens: [Located]
    private var position = 0
    private let file: SourceFile

    /// Parses a module: a list of statements.
    static func parse(_ source: String, filename: String = "<string>") throws(PyError) -> [Stmt] {
        let file = SourceFile(filename: filename, source: source)
        var parser = Parser(tokens: try Lexer.tokenize(source, file: file), file: file)
        var statements: [Stmt] = []
        while parser.peek != .end { statements.append(contentsOf: try parser.statements()) }
        return statements
    }

    private init(tokens: [Located], file: SourceFile) {
        self.tokens = tokens
        self.file = file
    }

    private var peek: Token { tokens[position].token }
    private var peekNext: Token { position + 1 < tokens.count ? tokens[position + 1].token : .end }
    private var line: Int { tokens[position].line }
    private var column: Int { tokens[position].column }

    private mutating func advance() -> Token {
        defer { position += 1 }
        return tokens[position].token
    }

    private func error(_ message: String) -> PyError {
        file.error(message, line: line, column: column)
    }

    /// Valid Python that GILLab does not run: a NotImplementedError at the current token.
    private func unsupported(_ message: String) -> PyError {
        file.error(.notImplementedError, message, line: line, column: column)
    }

    private mutating func expect(_ token: Token, _ what: String) throws(PyError) {
        guard peek == token else { throw error("expected \(what), found \(describe(peek))") }
        position += 1
    }

    private mutating func accept(_ op: String) -> Bool {
        if peek == .op(op) { position += 1; return true }
        return false
    }

    private mutating func acceptKeyword(_ word: String) -> Bool {
        if peek == .name(word) { position += 1; return true }
        return false
    }

    private mutating func name() throws(PyError) -> String {
        guard case .name(let name) = peek, !Self.keywords.contains(name) else {
            throw error("expected a name, found \(describe(peek))")
        }
        position += 1
        return name
    }

    static let keywords: Set<String> = [
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
        "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
        "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
        "with", "yield",
    ]

    // MARK: Statements

    private mutating func block() throws(PyError) -> [Stmt] {
        try expect(.op(":"), "':'")
        if peek != .newline {
            // A one-line body: `if x: y = 1`.
            return try simpleStatements()
        }
        try expect(.newline, "a new line after ':'")
        guard peek == .indent else { throw error("expected an indented block") }
        position += 1
        var body: [Stmt] = []
        while peek != .dedent && peek != .end { body.append(contentsOf: try statements()) }
        if peek == .dedent { position += 1 }
        return body
    }

    /// One line's statements: a compound statement, or simple ones separated by `;`.
    private mutating func statements() throws(PyError) -> [Stmt] {
        if case .name(let keyword) = peek,
           ["def", "if", "while", "for", "try", "with", "class", "async"].contains(keyword) || peek == .op("@") {
            let at = SourcePosition(line: line, column: column)
            return [.at(at, try compoundStatement())]
        }
        if peek == .op("@") { throw unsupported("decorators are not supported") }
        if peek == .indent { throw error("unexpected indent") }
        return try simpleStatements()
    }

    private mutating func simpleStatements() throws(PyError) -> [Stmt] {
        var result: [Stmt] = []
        repeat {
            if peek == .newline { break }
            let at = SourcePosition(line: line, column: column)
            result.append(.at(at, try simpleStatement()))
        } while accept(";")
        try expect(.newline, "end of line")
        return result
    }

    private mutating func compoundStatement() throws(PyError) -> Stmt {
        if peek == .op("@") { throw unsupported("decorators are not supported") }
        guard case .name(let keyword) = peek else { throw error("expected a statement") }
        switch keyword {
        case "class":
            throw unsupported("classes are not supported; use functions and dicts")
        case "async":
            throw unsupported("async and await are not supported; use threads (threading.Thread)")
        case "def":
            position += 1
            let function = try name()
            let parameters = try parameterList(closing: ")", opening: true)
            if accept("->") { _ = try expression() }  // a return annotation: ignored, as at run time
            return .def(function, parameters, try block())
        case "if":
            let ifLine = line
            position += 1
            var branches = [(condition: try namedTest(), body: try block(), line: ifLine)]
            var orElse: [Stmt] = []
            while case .name("elif") = peek {
                let elifLine = line
                position += 1
                branches.append((try namedTest(), try block(), elifLine))
            }
            if acceptKeyword("else") { orElse = try block() }
            return .if(branches, orElse)
        case "while":
            position += 1
            let condition = try namedTest()
            let body = try block()
            if peek == .name("else") { throw unsupported("'else' after a loop is not supported; use a flag") }
            return .while(condition, body)
        case "for":
            position += 1
            let target = try targetList()
            guard acceptKeyword("in") else { throw error("expected 'in'") }
            let iterable = try expressionList()
            let body = try block()
            if peek == .name("else") { throw unsupported("'else' after a loop is not supported; use a flag") }
            return .for(target, iterable, body)
        case "try":
            position += 1
            let body = try block()
            var handlers: [Handler] = []
            while peek == .name("except") {
                let handlerLine = line
                position += 1
                if peek == .op("*") { throw unsupported("except* is not supported") }
                var type: Expr?
                var bound: String?
                if peek != .op(":") {
                    type = try expression()
                    if acceptKeyword("as") { bound = try name() }
                }
                if type == nil && peek == .op(":") && handlers.contains(where: { $0.type == nil }) {
                    throw error("default 'except:' must be last")
                }
                handlers.append(Handler(type: type, name: bound, body: try block(), line: handlerLine))
            }
            var orElse: [Stmt] = []
            if acceptKeyword("else") {
                guard !handlers.isEmpty else { throw error("'else' after 'try' needs an 'except'") }
                orElse = try block()
            }
            var finally: [Stmt]?
            if acceptKeyword("finally") { finally = try block() }
            guard !handlers.isEmpty || finally != nil else { throw error("expected 'except' or 'finally' block") }
            return .try(body: body, handlers: handlers, orElse: orElse, finally: finally)
        case "with":
            position += 1
            let manager = try expression()
            var target: Target?
            if acceptKeyword("as") { target = try self.target(from: try postfix()) }
            if peek == .op(",") { throw unsupported("one context manager per 'with' is supported; nest them") }
            return .with(manager, target, try block())
        default:
            throw error("expected a statement")
        }
    }

    private mutating func simpleStatement() throws(PyError) -> Stmt {
        if case .name(let keyword) = peek {
            switch keyword {
            case "return":
                position += 1
                return .return(peek == .newline || peek == .op(";") ? nil : try expressionList())
            case "break": position += 1; return .break
            case "continue": position += 1; return .continue
            case "pass": position += 1; return .pass
            case "raise":
                position += 1
                if peek == .newline || peek == .op(";") { return .raise(nil) }
                let value = try expression()
                if peek == .name("from") { throw unsupported("'raise ... from' is not supported") }
                return .raise(value)
            case "global":
                position += 1
                var names = [try name()]
                while accept(",") { names.append(try name()) }
                return .global(names)
            case "nonlocal":
                throw unsupported("nonlocal is not supported: nested functions do not capture variables")
            case "import":
                position += 1
                var modules: [(module: String, alias: String)] = []
                repeat {
                    let module = try dottedName()
                    modules.append((module, acceptKeyword("as") ? try name() : module))
                } while accept(",")
                return .import(modules)
            case "from":
                position += 1
                let module = try dottedName()
                guard acceptKeyword("import") else { throw error("expected 'import'") }
                if peek == .op("*") { throw unsupported("'from ... import *' is not supported; name what you import") }
                let parenthesised = accept("(")
                var names: [(name: String, alias: String)] = []
                repeat {
                    if parenthesised && peek == .op(")") { break }
                    let imported = try name()
                    names.append((imported, acceptKeyword("as") ? try name() : imported))
                } while accept(",")
                if parenthesised { try expect(.op(")"), "')'") }
                return .fromImport(module: module, names: names)
            case "assert":
                position += 1
                let condition = try expression()
                return .assert(condition, accept(",") ? try expression() : nil)
            case "del":
                position += 1
                var targets = [try target(from: try expression())]
                while accept(",") { targets.append(try target(from: try expression())) }
                return .delete(targets)
            case "yield":
                throw unsupported("generators are not supported; build a list and return it")
            case "class", "def", "if", "while", "for", "try", "with", "async", "elif", "else", "except", "finally":
                throw error("'\(keyword)' cannot be used here")
            default:
                break
            }
        }
        let first = try expressionList()
        if peek == .op(":") { throw unsupported("annotated assignments are not supported; drop the annotation") }
        let augmented: [String: BinaryOp] = [
            "+=": .add, "-=": .subtract, "*=": .multiply, "/=": .trueDivide, "//=": .floorDivide,
            "%=": .modulo, "**=": .power, "&=": .and, "|=": .or, "^=": .xor, "<<=": .leftShift, ">>=": .rightShift,
        ]
        if case .op(let op) = peek, let binary = augmented[op] {
            let column = self.column
            position += 1
            let target = try self.target(from: first)
            if case .tuple = target {
                throw file.error("'tuple' is an illegal expression for augmented assignment", line: line, column: column)
            }
            return .augAssign(target, binary, try expressionList())
        }
        if peek == .op("=") {
            var targets = [first]
            var value = first
            while accept("=") {
                value = try expressionList()
                targets.append(value)
            }
            targets.removeLast()
            var converted: [Target] = []
            for target in targets { converted.append(try self.target(from: target)) }
            return .assign(converted, value)
        }
        return .expr(first)
    }

    private mutating func dottedName() throws(PyError) -> String {
        var result = try name()
        while accept(".") { result += "." + (try name()) }
        return result
    }

    /// `(a, b=1)` for def, or `a, b=1` up to `:` for lambda.
    private mutating func parameterList(closing: String, opening: Bool) throws(PyError) -> [Parameter] {
        if opening { try expect(.op("("), "'('") }
        var parameters: [Parameter] = []
        while !accept(closing) {
            if peek == .op("*") || peek == .op("**") {
                throw unsupported("*args and **kwargs are not supported; pass a list or a dict")
            }
            if peek == .op("/") { throw unsupported("positional-only parameters ('/') are not supported") }
            let column = self.column
            let parameter = try name()
            if closing == ")" && accept(":") { _ = try expression() }  // an annotation: ignored, as at run time
            var value: Expr?
            if accept("=") { value = try expression() }
            if value == nil, parameters.last?.defaultValue != nil {
                throw file.error("non-default argument follows default argument", line: line, column: column)
            }
            if parameters.contains(where: { $0.name == parameter }) {
                throw file.error("duplicate argument '\(parameter)' in function definition", line: line, column: column)
            }
            parameters.append(Parameter(name: parameter, defaultValue: value))
            if !accept(",") {
                try expect(.op(closing), "'\(closing)'")
                break
            }
        }
        return parameters
    }

    /// An assignment target made of what was parsed as an expression.
    private func target(from expr: Expr) throws(PyError) -> Target {
        switch expr {
        case .name(let name): return .name(name)
        case .index(let container, let index): return .index(container, index)
        case .attribute(let object, let name): return .attribute(object, name)
        case .tuple(let elements), .list(let elements):
            var targets: [Target] = []
            for element in elements { targets.append(try target(from: element)) }
            return .tuple(targets)
        case .call, .method: throw error("cannot assign to function call")
        default: throw error("cannot assign to expression")
        }
    }

    /// `a` or `a, b` as a `for` loop's target (stopping before `in`).
    private mutating func targetList() throws(PyError) -> Target {
        var elements = [try bitOr()]
        var isTuple = false
        while accept(",") {
            isTuple = true
            if peek == .name("in") { break }
            elements.append(try bitOr())
        }
        return try target(from: isTuple ? .tuple(elements) : elements[0])
    }

    // MARK: Expressions, lowest precedence first

    /// `a` or `a, b, ...` (a tuple), as statements, `return` and subscripts take them.
    private mutating func expressionList() throws(PyError) -> Expr {
        let first = try expression()
        guard peek == .op(",") else { return first }
        var elements = [first]
        while accept(",") {
            if [.newline, .op("="), .op(")"), .op("]"), .op(";"), .op(":")].contains(peek) || isAugmented(peek) { break }
            elements.append(try expression())
        }
        return .tuple(elements)
    }

    private func isAugmented(_ token: Token) -> Bool {
        if case .op(let op) = token { return op.count >= 2 && op.hasSuffix("=") && !["==", "!=", "<=", ">="].contains(op) }
        return false
    }

    /// A condition, refusing `:=` with a clear message.
    private mutating func namedTest() throws(PyError) -> Expr {
        let value = try expression()
        if peek == .op(":=") { throw unsupported("assignment expressions (':=') are not supported") }
        return value
    }

    private mutating func expression() throws(PyError) -> Expr {
        if acceptKeyword("lambda") {
            let parameters = try parameterList(closing: ":", opening: false)
            return .lambda(parameters, try expression())
        }
        let body = try orExpression()
        if acceptKeyword("if") {
            let test = try orExpression()
            guard acceptKeyword("else") else { throw error("expected 'else' after 'if' expression") }
            return .conditional(test: test, body: body, orElse: try expression())
        }
        return body
    }

    private mutating func orExpression() throws(PyError) -> Expr {
        var left = try andExpression()
        while acceptKeyword("or") { left = .or(left, try andExpression()) }
        return left
    }

    private mutating func andExpression() throws(PyError) -> Expr {
        var left = try notExpression()
        while acceptKeyword("and") { left = .and(left, try notExpression()) }
        return left
    }

    private mutating func notExpression() throws(PyError) -> Expr {
        if acceptKeyword("not") { return .not(try notExpression()) }
        return try comparison()
    }

    private mutating func comparison() throws(PyError) -> Expr {
        let left = try bitOr()
        guard let make = try comparisonOperator() else { return left }
        let result = make(left, try bitOr())
        if try comparisonOperator() != nil {
            position -= 1
            throw unsupported("chained comparisons are not supported; write 'a < b and b < c'")
        }
        return result
    }

    /// The comparison operator at the current token, consumed; `nil` if there is none.
    private mutating func comparisonOperator() throws(PyError) -> ((Expr, Expr) -> Expr)? {
        switch peek {
        case .op(let op):
            guard let compare = CompareOp(rawValue: op) else { return nil }
            position += 1
            return { .compare(compare, $0, $1) }
        case .name("in"):
            position += 1
            return { .contains(negated: false, $0, $1) }
        case .name("not") where peekNext == .name("in"):
            position += 2
            return { .contains(negated: true, $0, $1) }
        case .name("is"):
            position += 1
            let negated = acceptKeyword("not")
            return { .identical(negated: negated, $0, $1) }
        default:
            return nil
        }
    }

    private mutating func binaryLevel(_ ops: [String: BinaryOp], _ next: (inout Parser) throws(PyError) -> Expr) throws(PyError) -> Expr {
        var left = try next(&self)
        while case .op(let op) = peek, let binary = ops[op] {
            position += 1
            left = .binary(binary, left, try next(&self))
        }
        return left
    }

    private mutating func bitOr() throws(PyError) -> Expr { try binaryLevel(["|": .or]) { (p) throws(PyError) in try p.bitXor() } }
    private mutating func bitXor() throws(PyError) -> Expr { try binaryLevel(["^": .xor]) { (p) throws(PyError) in try p.bitAnd() } }
    private mutating func bitAnd() throws(PyError) -> Expr { try binaryLevel(["&": .and]) { (p) throws(PyError) in try p.shift() } }
    private mutating func shift() throws(PyError) -> Expr {
        try binaryLevel(["<<": .leftShift, ">>": .rightShift]) { (p) throws(PyError) in try p.sum() }
    }
    private mutating func sum() throws(PyError) -> Expr {
        try binaryLevel(["+": .add, "-": .subtract]) { (p) throws(PyError) in try p.term() }
    }
    private mutating func term() throws(PyError) -> Expr {
        if peek == .op("@") { throw unsupported("the '@' operator is not supported") }
        return try binaryLevel(["*": .multiply, "/": .trueDivide, "//": .floorDivide, "%": .modulo]) { (p) throws(PyError) in try p.unary() }
    }

    private mutating func unary() throws(PyError) -> Expr {
        if accept("-") {
            // `-5` is the constant -5, so that the smallest int can be written.
            if case .int(let value) = peek, peekNext != .op("**") { position += 1; return .int(-value) }
            return .negate(try unary())
        }
        if accept("+") { return try unary() }
        if peek == .op("~") { throw unsupported("the '~' operator is not supported; use -x - 1") }
        if case .name("await") = peek { throw unsupported("async and await are not supported; use threads (threading.Thread)") }
        return try power()
    }

    private mutating func power() throws(PyError) -> Expr {
        let base = try postfix()
        if accept("**") { return .binary(.power, base, try unary()) }
        return base
    }

    private mutating func postfix() throws(PyError) -> Expr {
        var value = try atom()
        while true {
            if accept("(") {
                let (positional, keywords) = try callArguments()
                value = .call(value, positional, keywords)
            } else if accept("[") {
                let index = try subscriptIndex()
                try expect(.op("]"), "']'")
                value = .index(value, index)
            } else if accept(".") {
                let attribute = try name()
                if accept("(") {
                    let (positional, keywords) = try callArguments()
                    value = .method(value, attribute, positional, keywords)
                } else {
                    value = .attribute(value, attribute)
                }
            } else {
                return value
            }
        }
    }

    /// An index, a slice, or a tuple of indices (`d[a, b]`).
    private mutating func subscriptIndex() throws(PyError) -> Expr {
        func part(_ parser: inout Parser) throws(PyError) -> Expr? {
            [.op(":"), .op("]"), .op(",")].contains(parser.peek) ? nil : try parser.expression()
        }
        let lower = try part(&self)
        guard accept(":") else {
            guard let lower else { throw error("expected an index") }
            if peek == .op(",") {
                var elements = [lower]
                while accept(",") {
                    if peek == .op("]") { break }
                    elements.append(try expression())
                }
                return .tuple(elements)
            }
            return lower
        }
        let upper = try part(&self)
        var step: Expr?
        if accept(":") { step = try part(&self) }
        return .slice(lower, upper, step)
    }

    private mutating func callArguments() throws(PyError) -> ([Expr], [(String, Expr)]) {
        var positional: [Expr] = []
        var keywords: [(String, Expr)] = []
        while !accept(")") {
            if peek == .op("*") || peek == .op("**") {
                throw unsupported("'*' and '**' in calls are not supported; pass the values one by one")
            }
            if case .name(let keyword) = peek, peekNext == .op("="), !Self.keywords.contains(keyword) {
                position += 2
                if keywords.contains(where: { $0.0 == keyword }) {
                    position -= 2
                    throw error("keyword argument repeated: \(keyword)")
                }
                keywords.append((keyword, try expression()))
            } else {
                guard keywords.isEmpty else { throw error("positional argument follows keyword argument") }
                let value = try expression()
                if peek == .name("for") {
                    // A generator expression as the only argument: `sum(x * x for x in xs)`.
                    guard positional.isEmpty && keywords.isEmpty else {
                        throw error("generator expression must be parenthesized")
                    }
                    positional.append(.listComprehension(value, try clauses()))
                    try expect(.op(")"), "')' after a generator expression (it must be the only argument)")
                    return (positional, keywords)
                }
                positional.append(value)
            }
            if !accept(",") {
                try expect(.op(")"), "')'")
                break
            }
        }
        return (positional, keywords)
    }

    /// A comprehension's `for ... in ... if ...` clauses.
    private mutating func clauses() throws(PyError) -> [Clause] {
        var result: [Clause] = []
        while acceptKeyword("for") {
            let target = try targetList()
            guard acceptKeyword("in") else { throw error("expected 'in'") }
            let iterable = try orExpression()
            var conditions: [Expr] = []
            while acceptKeyword("if") { conditions.append(try orExpression()) }
            result.append(Clause(target: target, iterable: iterable, conditions: conditions))
        }
        if peek == .name("async") { throw unsupported("async comprehensions are not supported") }
        return result
    }

    private mutating func atom() throws(PyError) -> Expr {
        let located = tokens[position]
        let token = advance()
        switch token {
        case .int(let value): return .int(value)
        case .float(let value): return .float(value)
        case .str(var value):
            // Adjacent literals join, as in Python.
            while case .str(let more) = peek { value += more; position += 1 }
            if case .format = peek { throw unsupported("joining a string literal and an f-string is not supported; use one f-string") }
            return .str(value)
        case .format(let raw):
            var pieces: [FormatPiece] = []
            for piece in raw {
                switch piece {
                case .literal(let text): pieces.append(.literal(text))
                case .field(let source, let column):
                    pieces.append(try formatField(source, line: located.line, column: column))
                }
            }
            return .format(pieces)
        case .name("True"): return .bool(true)
        case .name("False"): return .bool(false)
        case .name("None"): return .none
        case .name("yield"):
            position -= 1
            throw unsupported("generators are not supported; build a list and return it")
        case .name("lambda"):
            position -= 1
            return try expression()
        case .name(let name) where !Self.keywords.contains(name): return .name(name)
        case .op("("):
            if accept(")") { return .tuple([]) }
            let first = try expression()
            if peek == .name("for") {
                throw unsupported("generator expressions are supported only as a call's only argument; use a list comprehension")
            }
            guard accept(",") else {
                try expect(.op(")"), "')'")
                return first
            }
            var elements = [first]
            while !accept(")") {
                elements.append(try expression())
                if !accept(",") {
                    try expect(.op(")"), "')'")
                    break
                }
            }
            return .tuple(elements)
        case .op("["):
            if accept("]") { return .list([]) }
            let first = try expression()
            if peek == .name("for") {
                let comprehension = Expr.listComprehension(first, try clauses())
                try expect(.op("]"), "']'")
                return comprehension
            }
            var elements = [first]
            while accept(",") {
                if peek == .op("]") { break }
                elements.append(try expression())
            }
            try expect(.op("]"), "']'")
            return .list(elements)
        case .op("{"):
            if accept("}") { return .dict([]) }
            if peek == .op("**") { throw unsupported("'**' in a dict display is not supported") }
            let key = try expression()
            guard accept(":") else { throw unsupported("sets are not supported; use a dict with True values") }
            let value = try expression()
            if peek == .name("for") {
                let comprehension = Expr.dictComprehension(key, value, try clauses())
                try expect(.op("}"), "'}'")
                return comprehension
            }
            var pairs = [(key, value)]
            while accept(",") {
                if peek == .op("}") { break }
                let key = try expression()
                try expect(.op(":"), "':' in a dict display")
                pairs.append((key, try expression()))
            }
            try expect(.op("}"), "'}'")
            return .dict(pairs)
        case .op("..."):
            position -= 1
            throw unsupported("Ellipsis ('...') is not supported; use pass")
        default:
            position -= 1
            throw error("invalid syntax: unexpected \(describe(token))")
        }
    }

    /// One `{...}` field of an f-string: the expression, `!r` or `!s`, and a literal spec.
    private func formatField(_ source: String, line: Int, column: Int) throws(PyError) -> FormatPiece {
        let chars = Array(source)
        var nesting = 0
        var inQuote: Character?
        var split = chars.count
        var conversion: Character?
        var specStart: Int?
        var index = 0
        while index < chars.count {
            let c = chars[index]
            if let q = inQuote { if c == q { inQuote = nil } }
            else if c == "'" || c == "\"" { inQuote = c }
            else if "([{".contains(c) { nesting += 1 }
            else if ")]}".contains(c) { nesting -= 1 }
            else if nesting == 0 && c == "!" && index + 1 < chars.count && chars[index + 1] != "=" {
                split = min(split, index)
                guard index + 1 < chars.count, chars[index + 1] == "r" || chars[index + 1] == "s" else {
                    throw file.error(.notImplementedError, "f-string: only !r and !s conversions are supported", line: line, column: column + index)
                }
                conversion = chars[index + 1]
                index += 2
                if index < chars.count {
                    guard chars[index] == ":" else { throw file.error("f-string: expecting '}'", line: line, column: column + index) }
                    specStart = index + 1
                }
                break
            } else if nesting == 0 && c == ":" {
                split = index
                specStart = index + 1
                break
            }
            index += 1
        }
        let expressionText = String(chars[..<split])
        let spec = specStart.map { String(chars[$0...]) } ?? ""
        if spec.contains("{") {
            throw file.error(.notImplementedError, "f-string: nested fields in a format spec are not supported", line: line, column: column)
        }
        let trimmed = expressionText.drop { $0 == " " }
        guard !trimmed.allSatisfy({ $0 == " " }) else {
            throw file.error("f-string: empty expression not allowed", line: line, column: column)
        }
        if trimmed.hasSuffix("=") && !trimmed.hasSuffix("==") && !trimmed.hasSuffix("!=") {
            throw file.error(.notImplementedError, "f-string: '=' self-documenting fields are not supported", line: line, column: column)
        }
        // Parse the field as its own line, then move its errors to where it sits in the file.
        let fieldFile = SourceFile(filename: file.filename, source: String(trimmed))
        do throws(PyError) {
            var parser = Parser(tokens: try Lexer.tokenize(String(trimmed), file: fieldFile), file: fieldFile)
            let value = try parser.expressionList()
            guard parser.peek == .newline || parser.peek == .end else { throw parser.error("f-string: expecting '}'") }
            return .field(value, conversion: conversion, spec: spec)
        } catch {
            var moved = error
            if let at = error.position {
                moved.position = .init(filename: file.filename, line: line,
                                       column: column + (expressionText.count - trimmed.count) + at.column - 1,
                                       text: file.lines.indices.contains(line - 1) ? String(file.lines[line - 1]) : "")
            }
            throw moved
        }
    }

    private func describe(_ token: Token) -> String {
        switch token {
        case .newline: "end of line"
        case .indent: "indent"
        case .dedent: "dedent"
        case .end: "end of input"
        case .op(let op): "'\(op)'"
        case .name(let name): "'\(name)'"
        case .int(let value): "number \(value)"
        case .float(let value): "number \(value)"
        case .str, .format: "string"
        }
    }
}
