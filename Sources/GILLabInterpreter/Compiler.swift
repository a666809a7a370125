/// Compiles the syntax tree to bytecode. Module-level names and function names are globals,
/// resolved to slots of the interpreter's global table at compile time; names a function
/// assigns or takes as parameters are its fast locals, as in CPython.
struct Compiler {
    /// Resolves a global name to its slot, creating the slot when new.
    let globalSlot: (String) -> Int
    let globalNames: () -> [String]
    /// Where the code came from, for locations: a file name and the source's lines.
    var origin = CodeOrigin(filename: "<string>", source: "")

    func compileModule(_ statements: [Stmt]) throws(PyError) -> CodeObject {
        var unit = Unit(name: "<module>", parameters: [], isModule: true, line: 0)
        for statement in statements { try compile(statement, into: &unit) }
        unit.emit(.loadConst(unit.constant(PyNone.shared)))
        unit.emit(.returnValue)
        return unit.finish(globalNames, origin: origin)
    }

    /// One code object being built.
    private struct Unit {
        let name: String
        let isModule: Bool
        var locals: [String]
        let parameterCount: Int
        /// Every code object starts with RESUME, as in CPython 3.11.
        var instructions: [Instruction] = [.resume]
        /// The source line of each instruction: RESUME's is the `def`'s, as in CPython.
        var lines: [Int]
        /// The line of the statement being compiled.
        var line: Int
        var constants: [PyObject] = []
        var names: [String] = []
        /// For each enclosing loop: where `continue` goes, the `break` jumps to patch, and
        /// whether an iterator sits on the stack.
        var loops: [(start: Int, breaks: [Int], hasIterator: Bool)] = []

        init(name: String, parameters: [String], isModule: Bool, line: Int) {
            self.line = line
            self.lines = [line]
            self.name = name
            self.isModule = isModule
            self.locals = parameters
            self.parameterCount = parameters.count
        }

        var here: Int { instructions.count }

        mutating func emit(_ instruction: Instruction) {
            instructions.append(instruction)
            lines.append(line)
        }

        /// Emits a placeholder jump and returns its index for patching.
        mutating func emitJump(_ make: @escaping (Int) -> Instruction) -> (Int, (Int) -> Instruction) {
            emit(make(-1))
            return (instructions.count - 1, make)
        }

        mutating func patch(_ jump: (Int, (Int) -> Instruction), to target: Int) {
            instructions[jump.0] = jump.1(target)
        }

        mutating func constant(_ object: PyObject) -> Int {
            constants.append(object)
            return constants.count - 1
        }

        mutating func nameIndex(_ name: String) -> Int {
            if let index = names.firstIndex(of: name) { return index }
            names.append(name)
            return names.count - 1
        }

        func finish(_ globalNames: @escaping () -> [String], origin: CodeOrigin) -> CodeObject {
            CodeObject(name: name, parameterCount: parameterCount, localNames: locals, instructions: instructions,
                       constants: constants, names: names, globalNames: globalNames, lines: lines, origin: origin)
        }
    }

    // MARK: - Statements

    private func compile(_ statement: Stmt, into unit: inout Unit) throws(PyError) {
        switch statement {
        case .line(let line, let inner):
            unit.line = line
            try compile(inner, into: &unit)
        case .expr(let expr):
            try compile(expr, into: &unit)
            unit.emit(.pop)
        case .assign(.name(let name), let value):
            try compile(value, into: &unit)
            store(name, into: &unit)
        case .assign(.index(let container, let index), let value):
            try compile(container, into: &unit)
            try compile(index, into: &unit)
            try compile(value, into: &unit)
            unit.emit(.setItem)
        case .augAssign(.name(let name), let op, let value):
            load(name, into: &unit)
            try compile(value, into: &unit)
            unit.emit(.binary(op))
            store(name, into: &unit)
        case .augAssign(.index(let container, let index), let op, let value):
            try compile(container, into: &unit)
            try compile(index, into: &unit)
            unit.emit(.dupTop2)
            unit.emit(.getItem)
            try compile(value, into: &unit)
            unit.emit(.binary(op))
            unit.emit(.setItem)
        case .if(let branches, let orElse):
            var ends: [(Int, (Int) -> Instruction)] = []
            for (condition, body, line) in branches {
                unit.line = line  // an elif's test is its own line, not the last line of the branch before
                let skip = try compileJumpIfFalse(condition, into: &unit)
                for statement in body { try compile(statement, into: &unit) }
                ends.append(unit.emitJump { .jump($0) })
                unit.patch(skip, to: unit.here)
            }
            for statement in orElse { try compile(statement, into: &unit) }
            for end in ends { unit.patch(end, to: unit.here) }
        case .while(let condition, let body):
            let header = unit.line
            let start = unit.here
            let exit = try compileJumpIfFalse(condition, into: &unit)
            unit.loops.append((start, [], false))
            for statement in body { try compile(statement, into: &unit) }
            unit.line = header  // the loop's own jump is its header's, as in CPython
            unit.emit(.jumpBackward(start))
            unit.patch(exit, to: unit.here)
            for jump in unit.loops.removeLast().breaks { unit.instructions[jump] = .jump(unit.here) }
        case .for(let variable, let iterable, let body):
            let header = unit.line
            try compile(iterable, into: &unit)
            unit.emit(.getIter)
            let start = unit.here
            let exit = unit.emitJump { .forIter($0) }
            store(variable, into: &unit)
            unit.loops.append((start, [], true))
            for statement in body { try compile(statement, into: &unit) }
            unit.line = header
            unit.emit(.jumpBackward(start))
            unit.patch(exit, to: unit.here)
            for jump in unit.loops.removeLast().breaks { unit.instructions[jump] = .jump(unit.here) }
        case .break:
            guard let loop = unit.loops.last else { throw PyError(.syntaxError, "'break' outside loop") }
            if loop.hasIterator { unit.emit(.pop) }
            unit.loops[unit.loops.count - 1].breaks.append(unit.here)
            unit.emit(.jump(-1))
        case .continue:
            guard let loop = unit.loops.last else { throw PyError(.syntaxError, "'continue' not properly in loop") }
            unit.emit(.jumpBackward(loop.start))
        case .pass:
            break
        case .return(let value):
            guard !unit.isModule else { throw PyError(.syntaxError, "'return' outside function") }
            if let value { try compile(value, into: &unit) } else { unit.emit(.loadConst(unit.constant(PyNone.shared))) }
            unit.emit(.returnValue)
        case .def(let name, let parameters, let body):
            guard unit.isModule else { throw PyError(.syntaxError, "nested functions are not supported ('\(name)')") }
            guard Set(parameters).count == parameters.count else {
                throw PyError(.syntaxError, "duplicate parameter in function '\(name)'")
            }
            var function = Unit(name: name, parameters: parameters, isModule: false, line: unit.line)
            Self.collectAssigned(body, into: &function.locals)
            for statement in body { try compile(statement, into: &function) }
            function.emit(.loadConst(function.constant(PyNone.shared)))
            function.emit(.returnValue)
            unit.emit(.makeFunction(unit.constant(PyFunction(function.finish(globalNames, origin: origin)))))
            store(name, into: &unit)
        }
    }

    /// Compiles `condition` and a forward jump taken when it is false; a comparison fuses with
    /// the jump. Returns the jump to patch.
    private func compileJumpIfFalse(_ condition: Expr, into unit: inout Unit) throws(PyError) -> (Int, (Int) -> Instruction) {
        if case .compare(let op, let left, let right) = condition {
            try compile(left, into: &unit)
            try compile(right, into: &unit)
            return unit.emitJump { .compareJumpIfFalse(op, $0) }
        }
        try compile(condition, into: &unit)
        return unit.emitJump { .popJumpIfFalse($0) }
    }

    /// Names a function body assigns become its locals (CPython decides this at compile time too).
    private static func collectAssigned(_ body: [Stmt], into locals: inout [String]) {
        func add(_ name: String) { if !locals.contains(name) { locals.append(name) } }
        for statement in body {
            switch statement {
            case .line(_, let inner): collectAssigned([inner], into: &locals)
            case .assign(.name(let name), _), .augAssign(.name(let name), _, _): add(name)
            case .for(let name, _, let inner): add(name); collectAssigned(inner, into: &locals)
            case .while(_, let inner): collectAssigned(inner, into: &locals)
            case .if(let branches, let orElse):
                for branch in branches { collectAssigned(branch.body, into: &locals) }
                collectAssigned(orElse, into: &locals)
            default: break
            }
        }
    }

    private func load(_ name: String, into unit: inout Unit) {
        if !unit.isModule, let index = unit.locals.firstIndex(of: name) {
            unit.emit(.loadFast(index))
        } else {
            unit.emit(.loadGlobal(globalSlot(name)))
        }
    }

    private func store(_ name: String, into unit: inout Unit) {
        if !unit.isModule, let index = unit.locals.firstIndex(of: name) {
            unit.emit(.storeFast(index))
        } else {
            unit.emit(.storeGlobal(globalSlot(name)))
        }
    }

    // MARK: - Expressions

    private func compile(_ expr: Expr, into unit: inout Unit) throws(PyError) {
        switch expr {
        // A constant belongs to its code object, except a small int, which is the shared
        // immortal one (PEP 683, CPython 3.12): no thread counts references to it, so threads
        // running their own interpreters share no constant whose count they would both hammer.
        case .int(let value): unit.emit(.loadConst(unit.constant(PyInt.make(value))))
        case .float(let value): unit.emit(.loadConst(unit.constant(PyFloat(value))))
        case .str(let value): unit.emit(.loadConst(unit.constant(PyStr(value))))
        case .bool(let value): unit.emit(.loadConst(unit.constant(PyBool.of(value))))
        case .none: unit.emit(.loadConst(unit.constant(PyNone.shared)))
        case .name(let name): load(name, into: &unit)
        case .binary(let op, let left, let right):
            try compile(left, into: &unit)
            try compile(right, into: &unit)
            unit.emit(.binary(op))
        case .compare(let op, let left, let right):
            try compile(left, into: &unit)
            try compile(right, into: &unit)
            unit.emit(.compare(op))
        case .negate(let operand):
            try compile(operand, into: &unit)
            unit.emit(.negate)
        case .not(let operand):
            try compile(operand, into: &unit)
            unit.emit(.not)
        case .and(let left, let right), .or(let left, let right):
            try compile(left, into: &unit)
            let isAnd = if case .and = expr { true } else { false }
            let make: (Int) -> Instruction = isAnd ? { .jumpIfFalseOrPop($0) } : { .jumpIfTrueOrPop($0) }
            let shortCircuit = unit.emitJump(make)
            try compile(right, into: &unit)
            unit.patch(shortCircuit, to: unit.here)
        case .call(let callee, let arguments):
            try compile(callee, into: &unit)
            for argument in arguments { try compile(argument, into: &unit) }
            unit.emit(.call(arguments.count))
        case .method(let receiver, let name, let arguments):
            try compile(receiver, into: &unit)
            for argument in arguments { try compile(argument, into: &unit) }
            unit.emit(.callMethod(unit.nameIndex(name), arguments.count))
        case .index(let container, let index):
            try compile(container, into: &unit)
            try compile(index, into: &unit)
            unit.emit(.getItem)
        case .list(let elements):
            for element in elements { try compile(element, into: &unit) }
            unit.emit(.buildList(elements.count))
        case .dict(let pairs):
            for (key, value) in pairs {
                try compile(key, into: &unit)
                try compile(value, into: &unit)
            }
            unit.emit(.buildDict(pairs.count))
        }
    }
}
