/// Compiles the syntax tree to bytecode. Module-level names and function names are globals,
/// resolved to slots of the interpreter's global table at compile time; names a function
/// assigns or takes as parameters are its fast locals, as in CPython, unless it declares them
/// `global`. Comprehensions are inlined into the code around them, as PEP 709 (3.12) does, their
/// variables renamed to hidden locals so that they do not leak. Functions and lambdas inside a
/// function may not use the enclosing function's locals: there are no closures, and using one
/// is refused at compile time rather than silently read as a global.
struct Compiler {
    /// Resolves a global name to its slot, creating the slot when new.
    let globalSlot: (String) -> Int
    let globalNames: () -> [String]
    /// Where the code came from, for locations: a file name and the source's lines.
    var origin = CodeOrigin(filename: "<string>", source: "")
    /// The modules `import` may name.
    var modules: Set<String> = []

    func compileModule(_ statements: [Stmt]) throws(PyError) -> CodeObject {
        var unit = Unit(name: "<module>", parameters: [], isModule: true, line: 0)
        for statement in statements { try compile(statement, into: &unit) }
        unit.emit(.loadConst(unit.constant(PyNone.shared)))
        unit.emit(.returnValue)
        return unit.finish(globalNames, origin: origin)
    }

    /// A block that `return`, `break` and `continue` must leave properly.
    private enum Block {
        /// A `try` with handlers: its SETUP_FINALLY must be popped.
        case except
        /// A `try` with `finally`: popped, then its body runs.
        case finally([Stmt])
        /// A `with`: popped, then the manager (in this hidden local) exits.
        case with(Int)
    }

    /// One code object being built.
    private struct Unit {
        let name: String
        let isModule: Bool
        var locals: [String]
        let parameterCount: Int
        /// Names the function declares `global`.
        var declaredGlobal: Set<String> = []
        /// Comprehension variables, renamed to hidden locals while their comprehension compiles.
        var renames: [String: String] = [:]
        var hiddenCount = 0
        /// Every code object starts with RESUME, as in CPython 3.11.
        var instructions: [Instruction] = [.resume]
        /// The source line of each instruction: RESUME's is the `def`'s, as in CPython.
        var lines: [Int]
        /// The line and column of the statement being compiled.
        var line: Int
        var column = 1
        var constants: [PyObject] = []
        var names: [String] = []
        /// For each enclosing loop: where `continue` goes, the `break` jumps to patch, whether an
        /// iterator sits on the stack, and how many blocks were open when it began.
        var loops: [(start: Int, breaks: [Int], hasIterator: Bool, blocks: Int)] = []
        var blocks: [Block] = []
        /// The hidden locals holding the exceptions being handled, innermost last (for a bare `raise`).
        var handling: [Int] = []

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

        /// A new hidden local (its name starts with a dot, so no program can name it).
        mutating func hidden(_ what: String = "tmp") -> Int {
            hiddenCount += 1
            locals.append(".\(what)\(hiddenCount)")
            return locals.count - 1
        }

        func finish(_ globalNames: @escaping () -> [String], origin: CodeOrigin) -> CodeObject {
            CodeObject(name: name, parameterCount: parameterCount, localNames: locals, instructions: instructions,
                       constants: constants, names: names, globalNames: globalNames, lines: lines, origin: origin)
        }
    }

    /// A compile-time error at the statement being compiled.
    private func error(_ message: String, _ unit: Unit) -> PyError { error(.syntaxError, message, unit) }

    private func error(_ kind: PyError.Kind, _ message: String, _ unit: Unit) -> PyError {
        var error = PyError(kind, message)
        let lines = origin.sourceLines
        let text = lines.indices.contains(unit.line - 1) ? String(lines[unit.line - 1]) : ""
        error.position = .init(filename: origin.filename, line: unit.line, column: unit.column, text: text)
        return error
    }

    // MARK: - Statements

    private func compile(_ statement: Stmt, into unit: inout Unit) throws(PyError) {
        switch statement {
        case .at(let position, let inner):
            unit.line = position.line
            unit.column = position.column
            try compile(inner, into: &unit)
        case .expr(let expr):
            try compile(expr, into: &unit)
            unit.emit(.pop)
        case .assign(let targets, let value):
            // The value first, then each target left to right, as CPython evaluates them.
            try compile(value, into: &unit)
            for (position, target) in targets.enumerated() {
                if position < targets.count - 1 { unit.emit(.dupTop) }
                try store(target, into: &unit)
            }
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
            unit.emit(.rotThree)  // [container, index, new] → [new, container, index], as 3.11's SWAPs do
            unit.emit(.storeSubscript)
        case .augAssign(.attribute(let object, let name), let op, let value):
            try compile(object, into: &unit)
            unit.emit(.dupTop)
            unit.emit(.loadAttr(unit.nameIndex(name)))
            try compile(value, into: &unit)
            unit.emit(.binary(op))
            unit.emit(.rotTwo)
            unit.emit(.storeAttr(unit.nameIndex(name)))
        case .augAssign(.tuple, _, _):
            throw error("'tuple' is an illegal expression for augmented assignment", unit)
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
            unit.loops.append((start, [], false, unit.blocks.count))
            for statement in body { try compile(statement, into: &unit) }
            unit.line = header  // the loop's own jump is its header's, as in CPython
            unit.emit(.jumpBackward(start))
            unit.patch(exit, to: unit.here)
            for jump in unit.loops.removeLast().breaks { unit.instructions[jump] = .jump(unit.here) }
        case .for(let target, let iterable, let body):
            let header = unit.line
            try compile(iterable, into: &unit)
            unit.emit(.getIter)
            let start = unit.here
            let exit = unit.emitJump { .forIter($0) }
            try store(target, into: &unit)
            unit.loops.append((start, [], true, unit.blocks.count))
            for statement in body { try compile(statement, into: &unit) }
            unit.line = header
            unit.emit(.jumpBackward(start))
            unit.patch(exit, to: unit.here)
            for jump in unit.loops.removeLast().breaks { unit.instructions[jump] = .jump(unit.here) }
        case .break:
            guard let loop = unit.loops.last else { throw error("'break' outside loop", unit) }
            try unwindBlocks(to: loop.blocks, into: &unit)
            if loop.hasIterator { unit.emit(.pop) }
            unit.loops[unit.loops.count - 1].breaks.append(unit.here)
            unit.emit(.jump(-1))
        case .continue:
            guard let loop = unit.loops.last else { throw error("'continue' not properly in loop", unit) }
            try unwindBlocks(to: loop.blocks, into: &unit)
            unit.emit(.jumpBackward(loop.start))
        case .pass:
            break
        case .return(let value):
            guard !unit.isModule else { throw error("'return' outside function", unit) }
            if let value { try compile(value, into: &unit) } else { unit.emit(.loadConst(unit.constant(PyNone.shared))) }
            if !unit.blocks.isEmpty {
                // The value is computed first, then the finally blocks run, then it returns.
                let saved = unit.hidden("return")
                unit.emit(.storeFast(saved))
                try unwindBlocks(to: 0, into: &unit)
                unit.emit(.loadFast(saved))
            }
            unit.emit(.returnValue)
        case .def(let name, let parameters, let body):
            try makeFunction(name: name, parameters: parameters, body: body, into: &unit)
            store(name, into: &unit)
        case .try(let body, let handlers, let orElse, let finally):
            try compileTry(body: body, handlers: handlers, orElse: orElse, finally: finally, into: &unit)
        case .raise(let value):
            if let value {
                try compile(value, into: &unit)
                unit.emit(.raise)
            } else if let current = unit.handling.last {
                unit.emit(.loadFast(current))
                unit.emit(.reraise)
            } else {
                unit.emit(.loadConst(unit.constant(PyNone.shared)))
                unit.emit(.reraise)
            }
        case .with(let manager, let target, let body):
            try compile(manager, into: &unit)
            let saved = unit.hidden("with")
            unit.emit(.storeFast(saved))
            unit.emit(.loadFast(saved))
            unit.emit(.callMethod(unit.nameIndex("__enter__"), 0))
            // Once __enter__ has returned, __exit__ runs whatever happens, the target's store included.
            let handler = unit.emitJump { .setupExcept($0) }
            unit.blocks.append(.with(saved))
            if let target { try store(target, into: &unit) } else { unit.emit(.pop) }
            for statement in body { try compile(statement, into: &unit) }
            unit.blocks.removeLast()
            unit.emit(.popExcept)
            emitExit(saved, into: &unit)
            let end = unit.emitJump { .jump($0) }
            unit.patch(handler, to: unit.here)
            let exception = unit.hidden("exc")
            unit.emit(.storeFast(exception))
            emitExit(saved, into: &unit)
            unit.emit(.loadFast(exception))
            unit.emit(.reraise)
            unit.patch(end, to: unit.here)
        case .global(let names):
            guard !unit.isModule else { return }
            for name in names {
                if unit.locals.prefix(unit.parameterCount).contains(name) {
                    throw error("name '\(name)' is parameter and global", unit)
                }
                unit.declaredGlobal.insert(name)
            }
        case .import(let modules):
            for (module, alias) in modules {
                try checkModule(module, unit)
                unit.emit(.importName(unit.constant(PyStr(module))))
                store(alias, into: &unit)
            }
        case .fromImport(let module, let names):
            try checkModule(module, unit)
            unit.emit(.importName(unit.constant(PyStr(module))))
            for (name, alias) in names {
                unit.emit(.importFrom(unit.nameIndex(name)))
                store(alias, into: &unit)
            }
            unit.emit(.pop)
        case .assert(let condition, let message):
            try compile(condition, into: &unit)
            let end = unit.emitJump { .popJumpIfTrue($0) }
            if let message { try compile(message, into: &unit) }
            unit.emit(.raiseAssertion(hasMessage: message != nil))
            unit.patch(end, to: unit.here)
        case .delete(let targets):
            for target in targets { try delete(target, into: &unit) }
        }
    }

    private func checkModule(_ module: String, _ unit: Unit) throws(PyError) {
        guard modules.contains(module) else {
            throw error(.moduleNotFoundError, "No module named '\(module)'; GILLab's modules are \(modules.sorted().joined(separator: ", "))", unit)
        }
    }

    private func emitExit(_ manager: Int, into unit: inout Unit) {
        unit.emit(.loadFast(manager))
        unit.emit(.callMethod(unit.nameIndex("__exit__"), 0))
        unit.emit(.pop)
    }

    /// Leaves the blocks opened since `depth` (innermost first) on the way out of a `return`,
    /// `break` or `continue`: pops each handler, runs each `finally`, exits each `with`.
    private func unwindBlocks(to depth: Int, into unit: inout Unit) throws(PyError) {
        let saved = unit.blocks
        defer { unit.blocks = saved }
        for index in stride(from: saved.count - 1, through: depth, by: -1) {
            unit.blocks = Array(saved[..<index])
            unit.emit(.popExcept)
            switch saved[index] {
            case .except: break
            case .finally(let body): for statement in body { try compile(statement, into: &unit) }
            case .with(let manager): emitExit(manager, into: &unit)
            }
        }
    }

    private func compileTry(body: [Stmt], handlers: [Handler], orElse: [Stmt], finally: [Stmt]?,
                            into unit: inout Unit) throws(PyError) {
        var finallyHandler: (Int, (Int) -> Instruction)?
        if let finally {
            finallyHandler = unit.emitJump { .setupExcept($0) }
            unit.blocks.append(.finally(finally))
        }
        if handlers.isEmpty {
            for statement in body { try compile(statement, into: &unit) }
        } else {
            let handler = unit.emitJump { .setupExcept($0) }
            unit.blocks.append(.except)
            for statement in body { try compile(statement, into: &unit) }
            unit.blocks.removeLast()
            unit.emit(.popExcept)
            for statement in orElse { try compile(statement, into: &unit) }
            var ends = [unit.emitJump { .jump($0) }]
            unit.patch(handler, to: unit.here)
            let exception = unit.hidden("exc")
            unit.emit(.storeFast(exception))
            for clause in handlers {
                unit.line = clause.line
                var next: (Int, (Int) -> Instruction)?
                if let type = clause.type {
                    unit.emit(.loadFast(exception))
                    try compile(type, into: &unit)
                    unit.emit(.exceptionMatches)
                    next = unit.emitJump { .popJumpIfFalse($0) }
                }
                if let name = clause.name {
                    unit.emit(.loadFast(exception))
                    store(name, into: &unit)
                }
                unit.handling.append(exception)
                for statement in clause.body { try compile(statement, into: &unit) }
                unit.handling.removeLast()
                if let name = clause.name { deleteName(name, into: &unit) }  // as CPython does after the clause
                ends.append(unit.emitJump { .jump($0) })
                if let next { unit.patch(next, to: unit.here) }
            }
            unit.emit(.loadFast(exception))
            unit.emit(.reraise)
            for end in ends { unit.patch(end, to: unit.here) }
        }
        if let finally, let finallyHandler {
            unit.blocks.removeLast()
            unit.emit(.popExcept)
            for statement in finally { try compile(statement, into: &unit) }
            let end = unit.emitJump { .jump($0) }
            unit.patch(finallyHandler, to: unit.here)
            let exception = unit.hidden("exc")
            unit.emit(.storeFast(exception))
            for statement in finally { try compile(statement, into: &unit) }
            unit.emit(.loadFast(exception))
            unit.emit(.reraise)
            unit.patch(end, to: unit.here)
        }
    }

    /// Compiles a function or lambda and emits MAKE_FUNCTION with its defaults.
    private func makeFunction(name: String, parameters: [Parameter], body: [Stmt], into unit: inout Unit) throws(PyError) {
        var function = Unit(name: name, parameters: parameters.map(\.name), isModule: false, line: unit.line)
        Self.collectGlobals(body, into: &function.declaredGlobal)
        Self.collectAssigned(body, into: &function.locals, except: function.declaredGlobal)
        if !unit.isModule || !unit.renames.isEmpty {
            // No closures: a nested function may not use the enclosing function's variables.
            var used: Set<String> = []
            // The defaults are not in it: they are computed in the enclosing scope, where they belong.
            for statement in body { Self.collectUsed(statement, into: &used) }
            let enclosing = Set(unit.isModule ? [] : unit.locals.filter { !$0.hasPrefix(".") }).union(unit.renames.keys)
                .subtracting(unit.declaredGlobal)
            let captured = used.subtracting(function.locals).subtracting(function.declaredGlobal).intersection(enclosing)
            if let first = captured.sorted().first {
                let what = name == "<lambda>" ? "the lambda" : "function '\(name)'"
                let outer = unit.isModule ? "a comprehension" : "'\(unit.name)'"
                throw error(.notImplementedError,
                            "closures are not supported: \(what) uses '\(first)', a variable of \(outer); pass it as a default argument (\(first)=\(first))",
                            unit)
            }
        }
        for statement in body { try compile(statement, into: &function) }
        function.emit(.loadConst(function.constant(PyNone.shared)))
        function.emit(.returnValue)
        var defaults = 0
        for parameter in parameters {
            if let value = parameter.defaultValue {
                try compile(value, into: &unit)
                defaults += 1
            }
        }
        unit.emit(.makeFunction(code: unit.constant(PyFunction(function.finish(globalNames, origin: origin))), defaults: defaults))
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

    // MARK: - Names

    /// Names a function declares `global`.
    private static func collectGlobals(_ body: [Stmt], into names: inout Set<String>) {
        for statement in body {
            switch statement {
            case .at(_, let inner): collectGlobals([inner], into: &names)
            case .global(let declared): names.formUnion(declared)
            case .if(let branches, let orElse):
                for branch in branches { collectGlobals(branch.body, into: &names) }
                collectGlobals(orElse, into: &names)
            case .while(_, let inner), .for(_, _, let inner), .with(_, _, let inner): collectGlobals(inner, into: &names)
            case .try(let body, let handlers, let orElse, let finally):
                collectGlobals(body + handlers.flatMap(\.body) + orElse + (finally ?? []), into: &names)
            default: break
            }
        }
    }

    /// Names a function body binds become its locals (CPython decides this at compile time too).
    private static func collectAssigned(_ body: [Stmt], into locals: inout [String], except globals: Set<String>) {
        func add(_ name: String) { if !locals.contains(name) && !globals.contains(name) { locals.append(name) } }
        func addTarget(_ target: Target) {
            switch target {
            case .name(let name): add(name)
            case .tuple(let targets): targets.forEach(addTarget)
            case .index, .attribute: break
            }
        }
        for statement in body {
            switch statement {
            case .at(_, let inner): collectAssigned([inner], into: &locals, except: globals)
            case .assign(let targets, _): targets.forEach(addTarget)
            case .augAssign(let target, _, _): addTarget(target)
            case .delete(let targets): targets.forEach(addTarget)
            case .for(let target, _, let inner):
                addTarget(target)
                collectAssigned(inner, into: &locals, except: globals)
            case .while(_, let inner): collectAssigned(inner, into: &locals, except: globals)
            case .with(_, let target, let inner):
                if let target { addTarget(target) }
                collectAssigned(inner, into: &locals, except: globals)
            case .if(let branches, let orElse):
                for branch in branches { collectAssigned(branch.body, into: &locals, except: globals) }
                collectAssigned(orElse, into: &locals, except: globals)
            case .try(let body, let handlers, let orElse, let finally):
                for handler in handlers { if let name = handler.name { add(name) } }
                collectAssigned(body + handlers.flatMap(\.body) + orElse + (finally ?? []), into: &locals, except: globals)
            case .def(let name, _, _): add(name)
            case .import(let modules): modules.forEach { add($0.alias) }
            case .fromImport(_, let names): names.forEach { add($0.alias) }
            default: break
            }
        }
    }

    /// Every name a statement reads or binds, nested functions included: what a nested
    /// function might capture.
    private static func collectUsed(_ statement: Stmt, into used: inout Set<String>) {
        func expr(_ e: Expr?) { if let e { collectUsed(e, into: &used) } }
        func target(_ t: Target) {
            switch t {
            case .name(let name): used.insert(name)
            case .index(let a, let b): expr(a); expr(b)
            case .attribute(let a, _): expr(a)
            case .tuple(let targets): targets.forEach(target)
            }
        }
        func body(_ statements: [Stmt]) { for s in statements { collectUsed(s, into: &used) } }
        switch statement {
        case .at(_, let inner): collectUsed(inner, into: &used)
        case .expr(let e): expr(e)
        case .assign(let targets, let value): targets.forEach(target); expr(value)
        case .augAssign(let t, _, let value): target(t); expr(value)
        case .if(let branches, let orElse):
            for branch in branches { expr(branch.condition); body(branch.body) }
            body(orElse)
        case .while(let condition, let inner): expr(condition); body(inner)
        case .for(let t, let iterable, let inner): target(t); expr(iterable); body(inner)
        case .def(_, let parameters, let inner):
            for parameter in parameters { expr(parameter.defaultValue) }
            body(inner)
        case .return(let value): expr(value)
        case .try(let inner, let handlers, let orElse, let finally):
            body(inner)
            for handler in handlers { expr(handler.type); body(handler.body) }
            body(orElse)
            body(finally ?? [])
        case .raise(let value): expr(value)
        case .with(let manager, let t, let inner): expr(manager); if let t { target(t) }; body(inner)
        case .assert(let condition, let message): expr(condition); expr(message)
        case .delete(let targets): targets.forEach(target)
        case .break, .continue, .pass, .global, .import, .fromImport: break
        }
    }

    private static func collectUsed(_ e: Expr, into used: inout Set<String>) {
        func each(_ list: [Expr]) { for item in list { collectUsed(item, into: &used) } }
        switch e {
        case .name(let name): used.insert(name)
        case .int, .float, .str, .bool, .none: break
        case .binary(_, let a, let b), .compare(_, let a, let b), .contains(_, let a, let b), .identical(_, let a, let b),
             .and(let a, let b), .or(let a, let b), .index(let a, let b):
            each([a, b])
        case .negate(let a), .not(let a), .attribute(let a, _): each([a])
        case .conditional(let a, let b, let c): each([a, b, c])
        case .call(let callee, let args, let keywords): each([callee] + args + keywords.map(\.1))
        case .method(let receiver, _, let args, let keywords): each([receiver] + args + keywords.map(\.1))
        case .slice(let a, let b, let c): each([a, b, c].compactMap { $0 })
        case .list(let items), .tuple(let items): each(items)
        case .dict(let pairs): each(pairs.flatMap { [$0.0, $0.1] })
        case .listComprehension(let element, let clauses):
            each([element] + clauses.flatMap { [$0.iterable] + $0.conditions })
        case .dictComprehension(let key, let value, let clauses):
            each([key, value] + clauses.flatMap { [$0.iterable] + $0.conditions })
        case .lambda(let parameters, let body): each(parameters.compactMap(\.defaultValue) + [body])
        case .format(let pieces):
            for case .field(let value, _, _) in pieces { collectUsed(value, into: &used) }
        }
    }

    private enum Place { case fast(Int), global(Int) }

    private func resolve(_ name: String, _ unit: inout Unit) -> Place {
        if let hidden = unit.renames[name] { return .fast(fastIndex(hidden, &unit)) }
        if !unit.isModule && !unit.declaredGlobal.contains(name), let index = unit.locals.firstIndex(of: name) {
            return .fast(index)
        }
        return .global(globalSlot(name))
    }

    private func fastIndex(_ name: String, _ unit: inout Unit) -> Int {
        if let index = unit.locals.firstIndex(of: name) { return index }
        unit.locals.append(name)
        return unit.locals.count - 1
    }

    private func load(_ name: String, into unit: inout Unit) {
        switch resolve(name, &unit) {
        case .fast(let index): unit.emit(.loadFast(index))
        case .global(let slot): unit.emit(.loadGlobal(slot))
        }
    }

    private func store(_ name: String, into unit: inout Unit) {
        switch resolve(name, &unit) {
        case .fast(let index): unit.emit(.storeFast(index))
        case .global(let slot): unit.emit(.storeGlobal(slot))
        }
    }

    private func deleteName(_ name: String, into unit: inout Unit) {
        switch resolve(name, &unit) {
        case .fast(let index): unit.emit(.deleteFast(index))
        case .global(let slot): unit.emit(.deleteGlobal(slot))
        }
    }

    /// Stores the value on top of the stack into `target`.
    private func store(_ target: Target, into unit: inout Unit) throws(PyError) {
        switch target {
        case .name(let name): store(name, into: &unit)
        case .index(let container, let index):
            try compile(container, into: &unit)
            try compile(index, into: &unit)
            unit.emit(.storeSubscript)
        case .attribute(let object, let name):
            try compile(object, into: &unit)
            unit.emit(.storeAttr(unit.nameIndex(name)))
        case .tuple(let targets):
            unit.emit(.unpackSequence(targets.count))
            for target in targets { try store(target, into: &unit) }
        }
    }

    private func delete(_ target: Target, into unit: inout Unit) throws(PyError) {
        switch target {
        case .name(let name): deleteName(name, into: &unit)
        case .index(let container, let index):
            try compile(container, into: &unit)
            try compile(index, into: &unit)
            unit.emit(.deleteSubscript)
        case .attribute: throw error(.notImplementedError, "deleting an attribute is not supported", unit)
        case .tuple(let targets): for target in targets { try delete(target, into: &unit) }
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
        case .contains(let negated, let left, let right):
            try compile(left, into: &unit)
            try compile(right, into: &unit)
            unit.emit(.contains(negated: negated))
        case .identical(let negated, let left, let right):
            try compile(left, into: &unit)
            try compile(right, into: &unit)
            unit.emit(.identical(negated: negated))
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
        case .conditional(let test, let body, let orElse):
            let skip = try compileJumpIfFalse(test, into: &unit)
            try compile(body, into: &unit)
            let end = unit.emitJump { .jump($0) }
            unit.patch(skip, to: unit.here)
            try compile(orElse, into: &unit)
            unit.patch(end, to: unit.here)
        case .call(let callee, let arguments, let keywords):
            try compile(callee, into: &unit)
            for argument in arguments { try compile(argument, into: &unit) }
            if keywords.isEmpty {
                unit.emit(.call(arguments.count))
            } else {
                for (_, value) in keywords { try compile(value, into: &unit) }
                let names = unit.constant(PyTuple(keywords.map { PyStr($0.0) as PyObject }))
                unit.emit(.callKeywords(arguments.count + keywords.count, names: names))
            }
        case .method(let receiver, let name, let arguments, let keywords):
            try compile(receiver, into: &unit)
            for argument in arguments { try compile(argument, into: &unit) }
            if keywords.isEmpty {
                unit.emit(.callMethod(unit.nameIndex(name), arguments.count))
            } else {
                for (_, value) in keywords { try compile(value, into: &unit) }
                let names = unit.constant(PyTuple([PyStr(name)] + keywords.map { PyStr($0.0) as PyObject }))
                unit.emit(.callMethodKeywords(arguments.count + keywords.count, names: names))
            }
        case .attribute(let object, let name):
            try compile(object, into: &unit)
            unit.emit(.loadAttr(unit.nameIndex(name)))
        case .index(let container, let index):
            try compile(container, into: &unit)
            try compile(index, into: &unit)
            unit.emit(.getItem)
        case .slice(let lower, let upper, let step):
            for part in [lower, upper, step] {
                if let part { try compile(part, into: &unit) } else { unit.emit(.loadConst(unit.constant(PyNone.shared))) }
            }
            unit.emit(.buildSlice)
        case .list(let elements):
            for element in elements { try compile(element, into: &unit) }
            unit.emit(.buildList(elements.count))
        case .tuple(let elements):
            for element in elements { try compile(element, into: &unit) }
            unit.emit(.buildTuple(elements.count))
        case .dict(let pairs):
            for (key, value) in pairs {
                try compile(key, into: &unit)
                try compile(value, into: &unit)
            }
            unit.emit(.buildDict(pairs.count))
        case .listComprehension(let element, let clauses):
            unit.emit(.buildList(0))
            try comprehension(clauses, into: &unit) { (unit) throws(PyError) in
                try compile(element, into: &unit)
                unit.emit(.listAppend(clauses.count + 1))
            }
        case .dictComprehension(let key, let value, let clauses):
            unit.emit(.buildDict(0))
            try comprehension(clauses, into: &unit) { (unit) throws(PyError) in
                try compile(key, into: &unit)
                try compile(value, into: &unit)
                unit.emit(.mapAdd(clauses.count + 1))
            }
        case .lambda(let parameters, let body):
            try makeFunction(name: "<lambda>", parameters: parameters, body: [.at(SourcePosition(line: unit.line, column: unit.column), .return(body))], into: &unit)
        case .format(let pieces):
            for piece in pieces {
                switch piece {
                case .literal(let text): unit.emit(.loadConst(unit.constant(PyStr(text))))
                case .field(let value, let conversion, let spec):
                    try compile(value, into: &unit)
                    let specIndex = spec.isEmpty ? -1 : unit.constant(PyStr(spec))
                    unit.emit(.formatValue(conversion: conversion?.asciiValue ?? 0, spec: specIndex))
                }
            }
            if pieces.count != 1 { unit.emit(.buildString(pieces.count)) }
            if pieces.count == 1, case .literal = pieces[0] { return }
            if pieces.count == 1 { return }
        }
    }

    /// An inlined comprehension: a loop per clause around `innermost`, the clauses' variables
    /// renamed to hidden locals (PEP 709 keeps them out of the enclosing scope the same way).
    private func comprehension(_ clauses: [Clause], into unit: inout Unit,
                               innermost: (inout Unit) throws(PyError) -> Void) throws(PyError) {
        let savedRenames = unit.renames
        defer { unit.renames = savedRenames }
        var loops: [(start: Int, exit: (Int, (Int) -> Instruction))] = []
        for clause in clauses {
            try compile(clause.iterable, into: &unit)
            unit.emit(.getIter)
            let start = unit.here
            let exit = unit.emitJump { .forIter($0) }
            var bound: [String] = []
            Self.names(in: clause.target, into: &bound)
            for name in bound { unit.renames[name] = unit.locals[unit.hidden(name)] }
            try store(clause.target, into: &unit)
            var skips: [(Int, (Int) -> Instruction)] = []
            for condition in clause.conditions { skips.append(try compileJumpIfFalse(condition, into: &unit)) }
            loops.append((start, exit))
            // A false condition goes to this clause's own back jump, emitted below.
            if !skips.isEmpty {
                let body = unit.emitJump { .jump($0) }
                let next = unit.here
                for skip in skips { unit.patch(skip, to: next) }
                unit.emit(.jumpBackward(start))
                unit.patch(body, to: unit.here)
            }
        }
        try innermost(&unit)
        for loop in loops.reversed() {
            unit.emit(.jumpBackward(loop.start))
            unit.patch(loop.exit, to: unit.here)
        }
    }

    private static func names(in target: Target, into names: inout [String]) {
        switch target {
        case .name(let name): names.append(name)
        case .tuple(let targets): for target in targets { Self.names(in: target, into: &names) }
        case .index, .attribute: break
        }
    }
}
