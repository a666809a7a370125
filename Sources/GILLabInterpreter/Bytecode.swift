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
/// Only ``jumpBackward(_:)`` and ``call(_:)`` / ``callMethod(_:_:)`` poll the eval breaker, as in
/// CPython 3.10+ (JUMP_BACKWARD and CALL); forward jumps and straight-line code never do.
enum Instruction: Sendable, Equatable {
    case loadConst(Int)
    case loadFast(Int)
    case storeFast(Int)
    case loadGlobal(Int)
    case storeGlobal(Int)
    case binary(BinaryOp)
    case compare(CompareOp)
    /// COMPARE_OP fused with POP_JUMP_IF_FALSE, as CPython 3.12's COMPARE_AND_BRANCH: no bool
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

    /// Whether executing this instruction polls the eval breaker.
    var pollsEvalBreaker: Bool {
        switch self {
        case .jumpBackward, .call, .callMethod: true
        default: false
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
        self.constants = constants
        self.names = names
        self.globalNames = globalNames
    }

    /// A listing in the style of Python's `dis` module, nested code objects included.
    var disassembly: String {
        var lines = ["Disassembly of \(name):"]
        var nested: [CodeObject] = []
        let globals = globalNames()
        func globalName(_ slot: Int) -> String { globals.indices.contains(slot) ? globals[slot] : "?" }
        for (index, instruction) in instructions.enumerated() {
            let (op, argument): (String, String) = switch instruction {
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
            let marker = instruction.pollsEvalBreaker ? "*" : " "
            let padded = op.padding(toLength: 21)
            lines.append("\(marker) \(String(index).leftPadded(toLength: 4))  \(padded)\(argument)".droppingTrailingSpaces())
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
