/// Binary arithmetic operators.
enum BinaryOp: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", trueDivide = "/", floorDivide = "//", modulo = "%"
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
    case setItem
    case dupTop2
    case call(Int)
    case callMethod(Int, Int)
    case makeFunction(Int)
    case pop
    case returnValue

    /// Whether executing this instruction polls the eval breaker (calls: once a native callee
    /// has returned).
    var pollsEvalBreaker: Bool {
        switch self {
        case .resume, .jumpBackward, .call, .callMethod: true
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
        case .loadConst, .loadFast, .storeFast, .pop, .dupTop2, .jump, .returnValue, .compareJumpIfFalse:
            return 0
        case .popJumpIfFalse, .popJumpIfTrue, .jumpIfFalseOrPop, .jumpIfTrueOrPop:
            return 0  // on a bool; the eval loop counts the tick for any other value
        case .resume, .loadGlobal, .storeGlobal, .binary, .negate, .not, .getItem, .setItem, .buildList,
             .makeFunction, .jumpBackward, .call:
            return 1
        case .buildDict(let entries):
            return UInt8(clamping: 1 + entries)
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

    init(name: String, parameterCount: Int, localNames: [String], instructions: [Instruction],
         constants: [PyObject], names: [String], globalNames: @escaping () -> [String]) {
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
            case .setItem: ("STORE_SUBSCR", "")
            case .dupTop2: ("COPY_2", "")
            case .call(let n): ("CALL", "\(n)")
            case .callMethod(let name, let n): ("CALL_METHOD", "\(names[name]) \(n)")
            case .makeFunction(let i):
                ("MAKE_FUNCTION", "\(i) (\(describe(constants[i])))")
            case .pop: ("POP_TOP", "")
            case .returnValue: ("RETURN_VALUE", "")
            }
            if case .makeFunction(let i) = instruction, let function = constants[i] as? PyFunction {
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
        default: Interpreter.repr(object)
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
