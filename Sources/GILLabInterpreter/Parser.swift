// A parser for the small Python subset GILLab's programs are written in:
// def, return, while, for NAME in EXPR, if/elif/else, break, continue, pass, assignment
// (to names and subscripts, plain and augmented), and expressions with arithmetic, comparisons,
// and/or/not, calls, method calls, indexing, and list and dict displays.

// MARK: - Syntax tree

indirect enum Expr {
    case int(Int)
    case float(Double)
    case str(String)
    case bool(Bool)
    case none
    case name(String)
    case binary(BinaryOp, Expr, Expr)
    case compare(CompareOp, Expr, Expr)
    case negate(Expr)
    case not(Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case call(Expr, [Expr])
    case method(Expr, String, [Expr])
    case index(Expr, Expr)
    case list([Expr])
    case dict([(Expr, Expr)])
}

enum Target {
    case name(String)
    case index(Expr, Expr)
}

indirect enum Stmt {
    case expr(Expr)
    case assign(Target, Expr)
    case augAssign(Target, BinaryOp, Expr)
    /// Each branch's condition, body, and the line of its `if` or `elif`.
    case `if`([(condition: Expr, body: [Stmt], line: Int)], [Stmt])
    case `while`(Expr, [Stmt])
    case `for`(String, Expr, [Stmt])
    case def(String, [String], [Stmt])
    case `return`(Expr?)
    case `break`, `continue`, pass
    /// A statement and the line it starts on: the parser wraps every statement in one.
    case line(Int, Stmt)
}

// MARK: - Tokens

enum Token: Equatable {
    case name(String)
    case int(Int)
    case float(Double)
    case str(String)
    case op(String)
    case newline, indent, dedent, end
}

struct Lexer {
    /// Splits `source` into tokens, with INDENT/DEDENT for block structure as Python's tokenizer.
    static func tokenize(_ source: String) throws(PyError) -> [(Token, Int)] {
        var tokens: [(Token, Int)] = []
        var indents = [0]
        var depth = 0  // open brackets: newlines inside them are not statement ends
        for (number, rawLine) in source.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = number + 1
            let chars = Array(rawLine)
            var i = 0
            let width = chars.prefix { $0 == " " }.count
            if depth == 0 {
                let rest = chars.dropFirst(width)
                if rest.isEmpty || rest.first == "#" { continue }
                if chars.prefix(width + 1).contains("\t") {
                    throw PyError(.syntaxError, "line \(line): tabs are not supported for indentation")
                }
                if width > indents.last! {
                    indents.append(width)
                    tokens.append((.indent, line))
                } else {
                    while width < indents.last! {
                        indents.removeLast()
                        tokens.append((.dedent, line))
                    }
                    guard width == indents.last! else {
                        throw PyError(.syntaxError, "line \(line): unindent does not match any outer indentation level")
                    }
                }
                i = width
            }
            while i < chars.count {
                let c = chars[i]
                if c == " " { i += 1; continue }
                if c == "#" { break }
                if c.isLetter || c == "_" {
                    var j = i
                    while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                    tokens.append((.name(String(chars[i..<j])), line))
                    i = j
                } else if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                    var j = i
                    var isFloat = false
                    while j < chars.count, chars[j].isNumber || chars[j] == "." || chars[j] == "_"
                            || ((chars[j] == "e" || chars[j] == "E") && j > i)
                            || ((chars[j] == "-" || chars[j] == "+") && (chars[j - 1] == "e" || chars[j - 1] == "E")) {
                        if chars[j] == "." || chars[j] == "e" || chars[j] == "E" { isFloat = true }
                        j += 1
                    }
                    let text = String(chars[i..<j]).replacingUnderscores()
                    if isFloat, let value = Double(text) {
                        tokens.append((.float(value), line))
                    } else if !isFloat, let value = Int(text) {
                        tokens.append((.int(value), line))
                    } else {
                        throw PyError(.syntaxError, "line \(line): bad number '\(text)'")
                    }
                    i = j
                } else if c == "\"" || c == "'" {
                    var j = i + 1
                    var text = ""
                    while j < chars.count, chars[j] != c {
                        if chars[j] == "\\", j + 1 < chars.count {
                            j += 1
                            switch chars[j] {
                            case "n": text.append("\n")
                            case "t": text.append("\t")
                            default: text.append(chars[j])
                            }
                        } else {
                            text.append(chars[j])
                        }
                        j += 1
                    }
                    guard j < chars.count else { throw PyError(.syntaxError, "line \(line): unterminated string") }
                    tokens.append((.str(text), line))
                    i = j + 1
                } else {
                    let two = i + 1 < chars.count ? String(chars[i...i + 1]) : ""
                    if ["==", "!=", "<=", ">=", "//", "+=", "-=", "*=", "/="].contains(two) {
                        tokens.append((.op(two), line))
                        i += 2
                    } else if "+-*/%<>=()[]{}:,.".contains(c) {
                        if "([{".contains(c) { depth += 1 }
                        if ")]}".contains(c) { depth = max(depth - 1, 0) }
                        tokens.append((.op(String(c)), line))
                        i += 1
                    } else {
                        throw PyError(.syntaxError, "line \(line): unexpected character '\(c)'")
                    }
                }
            }
            if depth == 0, tokens.last.map({ $0.0 != .newline }) ?? false { tokens.append((.newline, line)) }
        }
        let last = tokens.last?.1 ?? 1
        for _ in indents.dropFirst() { tokens.append((.dedent, last)) }
        tokens.append((.end, last))
        return tokens
    }
}

private extension String {
    func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

// MARK: - Parser

struct Parser {
    private var tokens: [(Token, Int)]
    private var position = 0

    /// Parses a module: a list of statements.
    static func parse(_ source: String) throws(PyError) -> [Stmt] {
        var parser = Parser(tokens: try Lexer.tokenize(source))
        var statements: [Stmt] = []
        while parser.peek != .end { statements.append(try parser.statement()) }
        return statements
    }

    private init(tokens: [(Token, Int)]) { self.tokens = tokens }

    private var peek: Token { tokens[position].0 }
    private var line: Int { tokens[position].1 }

    private mutating func advance() -> Token {
        defer { position += 1 }
        return tokens[position].0
    }

    private func error(_ message: String) -> PyError {
        PyError(.syntaxError, "line \(line): \(message)")
    }

    private mutating func expect(_ token: Token, _ what: String) throws(PyError) {
        guard peek == token else { throw error("expected \(what)") }
        position += 1
    }

    private mutating func accept(_ op: String) -> Bool {
        if peek == .op(op) { position += 1; return true }
        return false
    }

    private mutating func name() throws(PyError) -> String {
        guard case .name(let name) = peek else { throw error("expected a name") }
        position += 1
        return name
    }

    // MARK: Statements

    private mutating func block() throws(PyError) -> [Stmt] {
        try expect(.op(":"), "':'")
        try expect(.newline, "a new line after ':'")
        try expect(.indent, "an indented block")
        var body: [Stmt] = []
        while peek != .dedent && peek != .end { body.append(try statement()) }
        if peek == .dedent { position += 1 }
        return body
    }

    /// A statement, wrapped with the line it starts on (what locations and tracebacks name).
    private mutating func statement() throws(PyError) -> Stmt {
        let line = self.line
        return .line(line, try bareStatement())
    }

    private mutating func bareStatement() throws(PyError) -> Stmt {
        if case .name(let keyword) = peek {
            switch keyword {
            case "def":
                position += 1
                let function = try name()
                try expect(.op("("), "'('")
                var parameters: [String] = []
                if !accept(")") {
                    repeat { parameters.append(try name()) } while accept(",")
                    try expect(.op(")"), "')'")
                }
                return .def(function, parameters, try block())
            case "if":
                let ifLine = line
                position += 1
                var branches = [(condition: try expression(), body: try block(), line: ifLine)]
                var orElse: [Stmt] = []
                while case .name("elif") = peek {
                    let elifLine = line
                    position += 1
                    branches.append((try expression(), try block(), elifLine))
                }
                if case .name("else") = peek {
                    position += 1
                    orElse = try block()
                }
                return .if(branches, orElse)
            case "while":
                position += 1
                return .while(try expression(), try block())
            case "for":
                position += 1
                let variable = try name()
                guard case .name("in") = advance() else { throw error("expected 'in'") }
                return .for(variable, try expression(), try block())
            case "return":
                position += 1
                let value: Expr? = peek == .newline ? nil : try expression()
                try expect(.newline, "end of line")
                return .return(value)
            case "break", "continue", "pass":
                position += 1
                try expect(.newline, "end of line")
                return keyword == "break" ? .break : keyword == "continue" ? .continue : .pass
            default:
                break
            }
        }
        let first = try expression()
        let augmented: [String: BinaryOp] = ["+=": .add, "-=": .subtract, "*=": .multiply, "/=": .trueDivide]
        if case .op(let op) = peek, op == "=" || augmented[op] != nil {
            position += 1
            let target: Target
            switch first {
            case .name(let name): target = .name(name)
            case .index(let container, let index): target = .index(container, index)
            default: throw error("cannot assign to this expression")
            }
            let value = try expression()
            try expect(.newline, "end of line")
            return op == "=" ? .assign(target, value) : .augAssign(target, augmented[op]!, value)
        }
        try expect(.newline, "end of line")
        return .expr(first)
    }

    // MARK: Expressions, lowest precedence first

    private mutating func expression() throws(PyError) -> Expr {
        var left = try andExpression()
        while case .name("or") = peek {
            position += 1
            left = .or(left, try andExpression())
        }
        return left
    }

    private mutating func andExpression() throws(PyError) -> Expr {
        var left = try notExpression()
        while case .name("and") = peek {
            position += 1
            left = .and(left, try notExpression())
        }
        return left
    }

    private mutating func notExpression() throws(PyError) -> Expr {
        if case .name("not") = peek {
            position += 1
            return .not(try notExpression())
        }
        return try comparison()
    }

    private mutating func comparison() throws(PyError) -> Expr {
        let left = try sum()
        if case .op(let op) = peek, let compare = CompareOp(rawValue: op) {
            position += 1
            return .compare(compare, left, try sum())
        }
        return left
    }

    private mutating func sum() throws(PyError) -> Expr {
        var left = try term()
        while case .op(let op) = peek, op == "+" || op == "-" {
            position += 1
            left = .binary(op == "+" ? .add : .subtract, left, try term())
        }
        return left
    }

    private mutating func term() throws(PyError) -> Expr {
        var left = try unary()
        while case .op(let op) = peek, let binary = BinaryOp(rawValue: op), [.multiply, .trueDivide, .floorDivide, .modulo].contains(binary) {
            position += 1
            left = .binary(binary, left, try unary())
        }
        return left
    }

    private mutating func unary() throws(PyError) -> Expr {
        if accept("-") { return .negate(try unary()) }
        if accept("+") { return try unary() }
        return try postfix()
    }

    private mutating func postfix() throws(PyError) -> Expr {
        var value = try atom()
        while true {
            if accept("(") {
                value = .call(value, try arguments(closing: ")"))
            } else if accept("[") {
                let index = try expression()
                try expect(.op("]"), "']'")
                value = .index(value, index)
            } else if accept(".") {
                let method = try name()
                try expect(.op("("), "'(' (only method calls are supported)")
                value = .method(value, method, try arguments(closing: ")"))
            } else {
                return value
            }
        }
    }

    private mutating func arguments(closing: String) throws(PyError) -> [Expr] {
        var values: [Expr] = []
        if accept(closing) { return values }
        repeat {
            if peek == .op(closing) { break }  // trailing comma
            values.append(try expression())
        } while accept(",")
        try expect(.op(closing), "'\(closing)'")
        return values
    }

    private mutating func atom() throws(PyError) -> Expr {
        let token = advance()
        switch token {
        case .int(let value): return .int(value)
        case .float(let value): return .float(value)
        case .str(let value): return .str(value)
        case .name("True"): return .bool(true)
        case .name("False"): return .bool(false)
        case .name("None"): return .none
        case .name(let name): return .name(name)
        case .op("("):
            let inner = try expression()
            try expect(.op(")"), "')'")
            return inner
        case .op("["):
            return .list(try arguments(closing: "]"))
        case .op("{"):
            var pairs: [(Expr, Expr)] = []
            if accept("}") { return .dict(pairs) }
            repeat {
                if peek == .op("}") { break }
                let key = try expression()
                try expect(.op(":"), "':' in a dict display")
                pairs.append((key, try expression()))
            } while accept(",")
            try expect(.op("}"), "'}'")
            return .dict(pairs)
        default:
            position -= 1
            throw error("unexpected \(describe(token))")
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
        default: "token"
        }
    }
}
