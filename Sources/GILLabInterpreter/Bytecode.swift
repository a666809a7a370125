/// Binary arithmetic operators.
enum BinaryOp: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", trueDivide = "/", floorDivide = "//", modulo = "%"
    case power = "**", and = "&", or = "|", xor = "^", leftShift = "<<", rightShift = ">>"
}

/// Comparison operators.
enum CompareOp: String, Sendable {
    case less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">=", equal = "==", notEqual = "!="
}

/// One instruction of the stack machine. Jump targets are instruction indices.
///
/// The eval breaker is polled where CPython 3.11's `ceval.c` polls it (`CHECK_EVAL_BREAKER()`):
/// at ``resume`` (RESUME, a frame's first instruction), after ``jumpBackward(_:)``
/// (JUMP_BACKWARD), and after a ``call(_:)`` or ``callMethod(_:_:)`` whose callee is native
/// returns (CALL; a Python callee is polled by its own RESUME instead, as 3.11 runs it in the
/// same eval loop). Forward jumps and straight-line code never poll.
///
/// Under `legacy-gil` nothing polls; CPython 2.7 instead counts one tick of its ticker for
/// each opcode that goes back to the top of its eval loop: see ``python27Ticks(before:)``.
enum Instruction: Sendable, Equatable {
    /// A frame's first instruction, where CPython 3.11 polls the eval breaker on entry.
    case resume
    case loadConst(Int)
    case loadFast(Int)
    case storeFast(Int)
    case loadGlobal(Int)
    case storeGlobal(Int)
    case binary(BinaryOp)
    case compare(CompareOp)
    /// COMPARE_OP fused with POP_JUMP_IF_FALSE, like the COMPARE_AND_BRANCH of CPython 3.12's alphas: no bool
    /// object is pushed and popped. A forward jump, so it does not poll.
    case compareJumpIfFalse(CompareOp, Int)
    case negate
    case not
    case jump(Int)
    case jumpBackward(Int)
    case popJumpIfFalse(Int)
    case popJumpIfTrue(Int)
    case jumpIfFalseOrPop(Int)
    case jumpIfTrueOrPop(Int)
    case getIter
    case forIter(Int)
    case buildList(Int)
    case buildDict(Int)
    case getItem
    case dupTop2
    case call(Int)
    case callMethod(Int, Int)
    /// MAKE_FUNCTION: the code object's function from constant `code`, with the `defaults`
    /// values below it on the stack as its parameters' defaults.
    case makeFunction(code: Int, defaults: Int)
    case pop
    case returnValue

    // The rest of the language: compiled only where a program uses it, so none of these is on
    // the built-in workloads' hot paths.
    case dupTop
    case rotTwo
    /// ROT_THREE: the top moves below the two under it.
    case rotThree
    case loadAttr(Int)
    /// STORE_ATTR: the object on top, the value below it (CPython's order).
    case storeAttr(Int)
    /// STORE_SUBSCR in CPython's order: the index on top, the container, then the value.
    case storeSubscript
    case deleteFast(Int)
    case deleteGlobal(Int)
    case deleteSubscript
    case buildTuple(Int)
    /// BUILD_SLICE 3: lower, upper and step (any of them None).
    case buildSlice
    /// UNPACK_SEQUENCE: the sequence's `count` values, the first on top.
    case unpackSequence(Int)
    /// `in` and `not in`: the container on top, the value below it.
    case contains(negated: Bool)
    /// `is` and `is not`.
    case identical(negated: Bool)
    /// CALL with keywords (KW_NAMES + CALL): `count` values, the last ones the keyword values
    /// whose names are the tuple constant `names`.
    case callKeywords(Int, names: Int)
    /// A method call with keywords: `count` values, the last ones the keyword values; the tuple
    /// constant `names` holds the method's name, then the keywords' names. (Two operands, not
    /// three: the instruction stays three words, as every other one.)
    case callMethodKeywords(Int, names: Int)
    /// LIST_APPEND: appends the top to the list `depth` below it (a comprehension's list).
    case listAppend(Int)
    /// MAP_ADD: the key and value on top go into the dict `depth` below them.
    case mapAdd(Int)
    /// FORMAT_VALUE: the top formatted with the spec constant (-1: none) after `!r` or `!s`.
    case formatValue(conversion: UInt8, spec: Int)
    /// BUILD_STRING: joins the top `count` strings.
    case buildString(Int)
    /// IMPORT_NAME: the module whose name is constant `name`.
    case importName(Int)
    /// IMPORT_FROM: the module on top stays; its attribute `name` is pushed (ImportError if none).
    case importFrom(Int)
    /// SETUP_FINALLY / SETUP_EXCEPT: an exception raised before the matching ``popExcept``
    /// unwinds the stack to its depth here, pushes the exception and jumps to `handler`.
    case setupExcept(Int)
    case popExcept
    /// Pops the exception class or object on top and raises it.
    case raise
    /// Pops an exception object and raises it again, its traceback kept; None raises
    /// "No active exception to reraise".
    case reraise
    /// Pops the class (or tuple of classes) on top and the exception below it; pushes whether
    /// the exception is an instance of the class.
    case exceptionMatches
    /// `assert`'s failure: raises AssertionError, with the message on top when `hasMessage`.
    case raiseAssertion(hasMessage: Bool)

    // MARK: Quickened forms (PEP 659): written into a code object's instructions, never compiled

    /// CPython 3.11's superinstructions, formed when a code object is quickened: two instructions
    /// in one dispatch. The second stays in place, so a jump to it runs it alone; the
    /// superinstruction does both and skips it.
    case loadFastLoadFast(Int, Int)
    case loadFastLoadConst(Int, Int)
    case loadConstLoadFast(Int, Int)
    case storeFastLoadFast(Int, Int)
    case storeFastStoreFast(Int, Int)
    /// BINARY_OP specialised on its operands' types, as 3.11's `BINARY_OP_ADD_INT` and kin: an
    /// adaptive BINARY_OP rewrites itself to one of these when it sees the types, and one of
    /// these rewrites itself back when its guard fails.
    case binaryAddInt
    case binarySubtractInt
    case binaryMultiplyInt
    case binaryAddFloat
    case binarySubtractFloat
    case binaryMultiplyFloat
    case binaryAddUnicode
    /// COMPARE_AND_BRANCH specialised, as 3.11's `COMPARE_OP_INT_JUMP`, `COMPARE_OP_FLOAT_JUMP`
    /// and `COMPARE_OP_STR_JUMP` (which, as there, handles only `==` and `!=`). 3.11's int form
    /// takes only single-digit ints (below 2^30 in magnitude); GILLab's ints are all one word.
    case compareJumpIfFalseInt(CompareOp, Int)
    case compareJumpIfFalseFloat(CompareOp, Int)
    case compareJumpIfFalseStr(CompareOp, Int)
    /// BINARY_SUBSCR and STORE_SUBSCR specialised for a list and an int: 3.11's
    /// `BINARY_SUBSCR_LIST_INT` and `STORE_SUBSCR_LIST_INT`. 3.11's forms fall back on a negative
    /// index; GILLab's count it from the end themselves.
    case getItemListInt
    case storeSubscriptListInt
    /// `list.append(x)`: 3.11's `PRECALL_NO_KW_LIST_APPEND`. 3.11 makes it only when a POP_TOP
    /// follows, skips that, and does not poll the eval breaker; GILLab's keeps the POP_TOP and
    /// polls like the call it replaces, so that quickening never moves a poll point.
    case callMethodListAppend(Int)

    /// The instruction the compiler emitted that this quickened form stands for: what the
    /// listing shows, what polls and what 2.7 ticks.
    var unquickened: Instruction {
        switch self {
        case .loadFastLoadFast(let index, _), .loadFastLoadConst(let index, _): .loadFast(index)
        case .loadConstLoadFast(let index, _): .loadConst(index)
        case .storeFastLoadFast(let index, _), .storeFastStoreFast(let index, _): .storeFast(index)
        case .binaryAddInt, .binaryAddFloat, .binaryAddUnicode: .binary(.add)
        case .binarySubtractInt, .binarySubtractFloat: .binary(.subtract)
        case .binaryMultiplyInt, .binaryMultiplyFloat: .binary(.multiply)
        case .compareJumpIfFalseInt(let op, let target), .compareJumpIfFalseFloat(let op, let target),
             .compareJumpIfFalseStr(let op, let target):
            .compareJumpIfFalse(op, target)
        case .getItemListInt: .getItem
        case .storeSubscriptListInt: .storeSubscript
        case .callMethodListAppend(let name): .callMethod(name, 1)
        default: self
        }
    }

    /// The superinstruction CPython 3.11's `_PyCode_Quicken` makes of `self` followed by `next`.
    func superinstruction(before next: Instruction) -> Instruction? {
        switch (self, next) {
        case (.loadFast(let a), .loadFast(let b)): .loadFastLoadFast(a, b)
        case (.loadFast(let a), .loadConst(let b)): .loadFastLoadConst(a, b)
        case (.loadConst(let a), .loadFast(let b)): .loadConstLoadFast(a, b)
        case (.storeFast(let a), .loadFast(let b)): .storeFastLoadFast(a, b)
        case (.storeFast(let a), .storeFast(let b)): .storeFastStoreFast(a, b)
        default: nil
        }
    }

    /// Whether executing this instruction polls the eval breaker (calls: once a native callee
    /// has returned).
    var pollsEvalBreaker: Bool {
        switch unquickened {
        case .resume, .jumpBackward, .call, .callMethod, .callKeywords, .callMethodKeywords: true
        default: false
        }
    }

    /// The ticks of CPython 2.7's `_Py_Ticker` this instruction costs, given the instruction
    /// that follows it: what `legacy-gil` counts. 2.7's eval loop decrements the ticker at its
    /// top, so an opcode ticks when it ends with `continue` (or a successful `break`) and not
    /// when it ends with `goto fast_next_opcode`, or when a `PREDICT` jumps straight into the
    /// opcode after it. In 2.7's `Python/ceval.c`:
    ///
    /// | GILLab | CPython 2.7 | ticks |
    /// |---|---|---|
    /// | RESUME | entry to `PyEval_EvalFrameEx`'s loop at its top | 1 |
    /// | LOAD_CONST, LOAD_FAST, STORE_FAST, POP_TOP, COPY_2 (DUP_TOPX 2), JUMP_FORWARD | same, `goto fast_next_opcode` | 0 |
    /// | LOAD_GLOBAL, STORE_GLOBAL, BINARY_OP, UNARY_*, BINARY_SUBSCR, STORE_SUBSCR, BUILD_LIST, MAKE_FUNCTION | same, `continue` | 1 |
    /// | BUILD_MAP n | BUILD_MAP, then one STORE_MAP per entry, each `continue` | 1 + n |
    /// | JUMP_BACKWARD | JUMP_ABSOLUTE, `continue` (`FAST_LOOPS` is off) | 1 |
    /// | CALL | CALL_FUNCTION, `continue` once the callee returns | 1 |
    /// | CALL_METHOD | LOAD_ATTR then CALL_FUNCTION | 2 |
    /// | COMPARE_OP | same: `PREDICT(POP_JUMP_IF_FALSE/TRUE)`, else `continue` | 0 before a POP_JUMP_IF, else 1 |
    /// | COMPARE_AND_BRANCH | COMPARE_OP and its predicted POP_JUMP_IF_FALSE on a bool | 0 |
    /// | POP_JUMP_IF_*, JUMP_IF_*_OR_POP | same: on `True`/`False` `goto fast_next_opcode`, else `continue` | 0 on a bool, else 1 (counted by the eval loop) |
    /// | GET_ITER | same: `PREDICT(FOR_ITER)` | 0 before FOR_ITER, else 1 |
    /// | FOR_ITER | same: `PREDICT(STORE_FAST)` with an item; `continue` when exhausted | 0 before STORE_FAST, else 1; 1 when exhausted (counted by the eval loop) |
    /// | RETURN_VALUE | same: leaves the loop | 0 |
    ///
    /// So `while n > 0: n -= 1` ticks twice per iteration (BINARY_OP for INPLACE_SUBTRACT, and
    /// JUMP_BACKWARD), and 2.7 releases the lock every 101 / 2 = 50.5 iterations. GILLab's
    /// bytecode has no SETUP_LOOP and POP_BLOCK, which tick once per loop in 2.7, not per
    /// iteration, and its `break` is a JUMP_FORWARD where 2.7's BREAK_LOOP ticks once.
    ///
    /// The mapping is one instruction to its 2.7 opcodes; it does not model 2.7's peephole
    /// optimizer (`Python/peephole.c`), which folds `-1` into a constant, turns UNARY_NOT before
    /// POP_JUMP_IF_FALSE into POP_JUMP_IF_TRUE, and sends a jump whose target is a jump straight
    /// on. Each such form costs GILLab a tick, or saves it one, where it occurs; countdown has
    /// none.
    func python27Ticks(before next: Instruction?) -> UInt8 {
        switch self {
        case .loadFastLoadFast, .loadFastLoadConst, .loadConstLoadFast, .storeFastLoadFast, .storeFastStoreFast,
             .binaryAddInt, .binarySubtractInt, .binaryMultiplyInt, .binaryAddFloat, .binarySubtractFloat,
             .binaryMultiplyFloat, .binaryAddUnicode, .compareJumpIfFalseInt, .compareJumpIfFalseFloat,
             .compareJumpIfFalseStr, .getItemListInt, .storeSubscriptListInt,
             .callMethodListAppend:
            return unquickened.python27Ticks(before: next)
        case .loadConst, .loadFast, .storeFast, .pop, .dupTop2, .jump, .returnValue, .compareJumpIfFalse:
            return 0
        case .popJumpIfFalse, .popJumpIfTrue, .jumpIfFalseOrPop, .jumpIfTrueOrPop:
            return 0  // on a bool; the eval loop counts the tick for any other value
        case .resume, .loadGlobal, .storeGlobal, .binary, .negate, .not, .getItem, .buildList,
             .makeFunction, .jumpBackward, .call:
            return 1
        case .buildDict(let entries):
            return UInt8(clamping: 1 + entries)
        // The rest of the language: DUP_TOP and ROT_TWO end with `goto fast_next_opcode` in 2.7;
        // the others end with `continue`, or have no 2.7 opcode and are counted like one that does.
        case .dupTop, .rotTwo, .rotThree:
            return 0
        case .loadAttr, .storeAttr, .storeSubscript, .deleteFast, .deleteGlobal, .deleteSubscript, .buildTuple,
             .buildSlice, .unpackSequence, .contains, .identical, .callKeywords, .listAppend, .mapAdd,
             .formatValue, .buildString, .importName, .importFrom, .setupExcept, .popExcept, .raise, .reraise,
             .exceptionMatches, .raiseAssertion:
            return 1
        case .callMethodKeywords:
            return 2
        case .callMethod:
            return 2
        case .compare:
            switch next {
            case .popJumpIfFalse?, .popJumpIfTrue?: return 0
            default: return 1
            }
        case .getIter:
            if case .forIter? = next { return 0 }
            return 1
        case .forIter:
            if case .storeFast? = next { return 0 }
            return 1  // the eval loop adds the exhausted case's tick
        }
    }
}

/// A compiled function or module body: CPython's code object.
final class CodeObject {
    let name: String
    let parameterCount: Int
    /// Local variable names; the first `parameterCount` are the parameters.
    let localNames: [String]
    let instructions: [Instruction]
    /// ``Instruction/python27Ticks(before:)`` of each instruction: what `legacy-gil` counts.
    let python27Ticks: [UInt8]
    let constants: [PyObject]
    /// Method names used by `callMethod`.
    let names: [String]
    /// Global slot names, indexed by slot, for the disassembly.
    let globalNames: () -> [String]
    /// The instructions the eval loop runs: `instructions` quickened, with 3.11's
    /// superinstructions formed at once (as 3.12 does; 3.11 waits for 8 calls) and the adaptive
    /// instructions rewriting themselves as they run. Written only by the thread that holds the
    /// lock, as CPython writes its bytecode.
    let quickened: UnsafeMutablePointer<Instruction>
    /// `constants` as the eval loop pushes them: borrowed, as the array keeps them alive.
    let constantRefs: UnsafeMutablePointer<Ref>

    /// The source line of each instruction.
    let lines: [Int]
    /// The file and source the code came from.
    let origin: CodeOrigin
    /// Each instruction's location in the lock's `LockLocations`, one per instruction, when the
    /// thread's lock records events (made by `Interpreter.locate`); `nil` otherwise. A raw
    /// buffer, so that a poll point reads it with no bounds check or retain.
    @exclusivity(unchecked) var locations: UnsafeMutablePointer<Int>?

    init(name: String, parameterCount: Int, localNames: [String], instructions: [Instruction],
         constants: [PyObject], names: [String], globalNames: @escaping () -> [String],
         lines: [Int], origin: CodeOrigin) {
        self.lines = lines
        self.origin = origin
        self.name = name
        self.parameterCount = parameterCount
        self.localNames = localNames
        self.instructions = instructions
        python27Ticks = instructions.indices.map {
            instructions[$0].python27Ticks(before: $0 + 1 < instructions.count ? instructions[$0 + 1] : nil)
        }
        self.constants = constants
        self.names = names
        self.globalNames = globalNames
        quickened = .allocate(capacity: instructions.count)
        quickened.initialize(from: instructions, count: instructions.count)
        for index in instructions.indices.dropLast() {
            if let fused = instructions[index].superinstruction(before: instructions[index + 1]) {
                quickened[index] = fused
            }
        }
        constantRefs = .allocate(capacity: max(constants.count, 1))
        for (index, constant) in constants.enumerated() { (constantRefs + index).initialize(to: Ref.passUnretained(constant)) }
    }

    deinit {
        quickened.deinitialize(count: instructions.count)
        quickened.deallocate()
        constantRefs.deallocate()
        locations?.deallocate()
    }

    /// The listing of the instructions as quickening has left them (`dis.dis(adaptive=True)`):
    /// superinstructions and specialised forms by their CPython names.
    var quickenedNames: [String] {
        (0..<instructions.count).map { quickened[$0].specialisedName ?? "" }
    }

    /// A listing in the style of Python's `dis` module, nested code objects included. The first
    /// column marks the instructions that poll the eval breaker (`*`), the second the ticks
    /// CPython 2.7 would count for it (`legacy-gil`; blank for none, `?` when it depends on the
    /// value).
    var disassembly: String {
        var lines = ["Disassembly of \(name):"]
        var nested: [CodeObject] = []
        let globals = globalNames()
        func globalName(_ slot: Int) -> String { globals.indices.contains(slot) ? globals[slot] : "?" }
        for (index, instruction) in instructions.enumerated() {
            let (op, argument): (String, String) = switch instruction {
            case .resume: ("RESUME", "0")
            case .loadConst(let i): ("LOAD_CONST", "\(i) (\(describe(constants[i])))")
            case .loadFast(let i): ("LOAD_FAST", "\(i) (\(localNames[i]))")
            case .storeFast(let i): ("STORE_FAST", "\(i) (\(localNames[i]))")
            case .loadGlobal(let i): ("LOAD_GLOBAL", "\(i) (\(globalName(i)))")
            case .storeGlobal(let i): ("STORE_GLOBAL", "\(i) (\(globalName(i)))")
            case .binary(let op): ("BINARY_OP", op.rawValue)
            case .compare(let op): ("COMPARE_OP", op.rawValue)
            case .compareJumpIfFalse(let op, let t): ("COMPARE_AND_BRANCH", "\(op.rawValue) to \(t)")
            case .negate: ("UNARY_NEGATIVE", "")
            case .not: ("UNARY_NOT", "")
            case .jump(let t): ("JUMP_FORWARD", "to \(t)")
            case .jumpBackward(let t): ("JUMP_BACKWARD", "to \(t)")
            case .popJumpIfFalse(let t): ("POP_JUMP_IF_FALSE", "to \(t)")
            case .popJumpIfTrue(let t): ("POP_JUMP_IF_TRUE", "to \(t)")
            case .jumpIfFalseOrPop(let t): ("JUMP_IF_FALSE_OR_POP", "to \(t)")
            case .jumpIfTrueOrPop(let t): ("JUMP_IF_TRUE_OR_POP", "to \(t)")
            case .getIter: ("GET_ITER", "")
            case .forIter(let t): ("FOR_ITER", "to \(t)")
            case .buildList(let n): ("BUILD_LIST", "\(n)")
            case .buildDict(let n): ("BUILD_MAP", "\(n)")
            case .getItem: ("BINARY_SUBSCR", "")
            case .dupTop2: ("COPY_2", "")
            case .call(let n): ("CALL", "\(n)")
            case .callMethod(let name, let n): ("CALL_METHOD", "\(names[name]) \(n)")
            case .makeFunction(let i, let defaults):
                ("MAKE_FUNCTION", "\(i) (\(describe(constants[i])))" + (defaults > 0 ? " defaults \(defaults)" : ""))
            case .dupTop: ("DUP_TOP", "")
            case .rotTwo: ("ROT_TWO", "")
            case .rotThree: ("ROT_THREE", "")
            case .loadAttr(let i): ("LOAD_ATTR", names[i])
            case .storeAttr(let i): ("STORE_ATTR", names[i])
            case .storeSubscript: ("STORE_SUBSCR", "")
            case .deleteFast(let i): ("DELETE_FAST", "\(i) (\(localNames[i]))")
            case .deleteGlobal(let i): ("DELETE_GLOBAL", "\(i) (\(globalName(i)))")
            case .deleteSubscript: ("DELETE_SUBSCR", "")
            case .buildTuple(let n): ("BUILD_TUPLE", "\(n)")
            case .buildSlice: ("BUILD_SLICE", "3")
            case .unpackSequence(let n): ("UNPACK_SEQUENCE", "\(n)")
            case .contains(let negated): ("CONTAINS_OP", negated ? "1 (not in)" : "0 (in)")
            case .identical(let negated): ("IS_OP", negated ? "1 (is not)" : "0 (is)")
            case .callKeywords(let n, let k): ("CALL_KW", "\(n) \(describe(constants[k]))")
            case .callMethodKeywords(let n, let k): ("CALL_METHOD_KW", "\(n) \(describe(constants[k]))")
            case .listAppend(let n): ("LIST_APPEND", "\(n)")
            case .mapAdd(let n): ("MAP_ADD", "\(n)")
            case .formatValue(let conversion, let spec):
                ("FORMAT_VALUE", (conversion == 0 ? "" : "!\(Character(UnicodeScalar(conversion))) ") + (spec < 0 ? "" : describe(constants[spec])))
            case .buildString(let n): ("BUILD_STRING", "\(n)")
            case .importName(let i): ("IMPORT_NAME", describe(constants[i]))
            case .importFrom(let i): ("IMPORT_FROM", names[i])
            case .setupExcept(let t): ("SETUP_FINALLY", "to \(t)")
            case .popExcept: ("POP_BLOCK", "")
            case .raise: ("RAISE_VARARGS", "1")
            case .reraise: ("RERAISE", "")
            case .exceptionMatches: ("CHECK_EXC_MATCH", "")
            case .raiseAssertion(let hasMessage): ("RAISE_ASSERTION", hasMessage ? "with message" : "")
            case .pop: ("POP_TOP", "")
            case .returnValue: ("RETURN_VALUE", "")
            default: (instruction.specialisedName ?? "?", "")  // the compiler emits no quickened form
            }
            if case .makeFunction(let i, _) = instruction, let function = constants[i] as? PyFunction {
                nested.append(function.code)
            }
            let poll = instruction.pollsEvalBreaker ? "*" : " "
            let ticks = switch instruction {
            case .popJumpIfFalse, .popJumpIfTrue, .jumpIfFalseOrPop, .jumpIfTrueOrPop, .forIter: "?"
            default: python27Ticks[index] == 0 ? " " : "\(python27Ticks[index])"
            }
            let padded = op.padding(toLength: 21)
            lines.append("\(poll)\(ticks) \(String(index).leftPadded(toLength: 4))  \(padded)\(argument)".droppingTrailingSpaces())
        }
        return ([lines.joined(separator: "\n")] + nested.map(\.disassembly)).joined(separator: "\n\n")
    }

    private func describe(_ object: PyObject) -> String {
        switch object.kind {
        case .str: "'\(unsafeDowncast(object, to: PyStr.self).value)'"
        case .function: "<code \(unsafeDowncast(object, to: PyFunction.self).code.name)>"
        default: (try? Interpreter.repr(object)) ?? "<\(object.typeName)>"
        }
    }
}

extension Instruction {
    /// CPython's name for a quickened form, or `nil` for the compiled instructions.
    var specialisedName: String? {
        switch self {
        case .loadFastLoadFast: "LOAD_FAST__LOAD_FAST"
        case .loadFastLoadConst: "LOAD_FAST__LOAD_CONST"
        case .loadConstLoadFast: "LOAD_CONST__LOAD_FAST"
        case .storeFastLoadFast: "STORE_FAST__LOAD_FAST"
        case .storeFastStoreFast: "STORE_FAST__STORE_FAST"
        case .binaryAddInt: "BINARY_OP_ADD_INT"
        case .binarySubtractInt: "BINARY_OP_SUBTRACT_INT"
        case .binaryMultiplyInt: "BINARY_OP_MULTIPLY_INT"
        case .binaryAddFloat: "BINARY_OP_ADD_FLOAT"
        case .binarySubtractFloat: "BINARY_OP_SUBTRACT_FLOAT"
        case .binaryMultiplyFloat: "BINARY_OP_MULTIPLY_FLOAT"
        case .binaryAddUnicode: "BINARY_OP_ADD_UNICODE"
        case .compareJumpIfFalseInt: "COMPARE_OP_INT_JUMP"
        case .compareJumpIfFalseFloat: "COMPARE_OP_FLOAT_JUMP"
        case .compareJumpIfFalseStr: "COMPARE_OP_STR_JUMP"
        case .getItemListInt: "BINARY_SUBSCR_LIST_INT"
        case .storeSubscriptListInt: "STORE_SUBSCR_LIST_INT"
        case .callMethodListAppend: "PRECALL_NO_KW_LIST_APPEND"
        default: nil
        }
    }
}

extension String {
    func padding(toLength length: Int) -> String {
        count >= length ? self + " " : self + String(repeating: " ", count: length - count)
    }

    func leftPadded(toLength length: Int) -> String {
        count >= length ? self : String(repeating: " ", count: length - count) + self
    }

    func droppingTrailingSpaces() -> String {
        String(reversed().drop { $0 == " " }.reversed())
    }
}

/// Where a program's code came from: its file name, and its source's lines for the locations
/// a reader sees (`countdown.py:2 in unit (while n > 0:)`).
final class CodeOrigin {
    let filename: String
    let sourceLines: [Substring]

    init(filename: String, source: String) {
        self.filename = filename
        sourceLines = source.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// The text of `line`, trimmed, for a traceback; empty when there is none.
    func lineText(_ line: Int) -> String {
        guard line > 0, sourceLines.indices.contains(line - 1) else { return "" }
        var text = String(sourceLines[line - 1].drop { $0 == " " })
        while text.last == " " { text.removeLast() }
        return text
    }

    /// `file:line in function (the line's text)`, as a traceback names a frame, the text trimmed
    /// and cut at 40 characters; the module's entry (line 0) is `file in <module>`.
    func locationName(line: Int, function: String) -> String {
        guard line > 0 else { return "\(filename) in \(function)" }
        guard sourceLines.indices.contains(line - 1) else { return "\(filename):\(line) in \(function)" }
        var text = String(sourceLines[line - 1].drop { $0 == " " })
        while text.last == " " { text.removeLast() }
        if text.count > 40 { text = String(text.prefix(39)) + "…" }
        return "\(filename):\(line) in \(function) (\(text))"
    }
}
