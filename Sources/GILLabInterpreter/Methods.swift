// The methods of the builtin types a short script uses (list, dict, str, tuple, range), and
// attribute access. Each is a native call that keeps the lock, as CPython's are.

extension Interpreter {
    /// `receiver.name(arguments)`.
    func callMethod(_ receiver: PyObject, _ name: String, _ arguments: Arguments) throws(PyError) -> PyObject {
        switch receiver.kind {
        case .list: return try listMethod(unsafeDowncast(receiver, to: PyList.self), name, arguments)
        case .dict: return try dictMethod(unsafeDowncast(receiver, to: PyDict.self), name, arguments)
        case .str: return try stringMethod(unsafeDowncast(receiver, to: PyStr.self).value, name, arguments)
        case .tuple:
            let items = unsafeDowncast(receiver, to: PyTuple.self).items
            switch name {
            case "count": return PyInt.make(try count(items, try arguments.exactly(1...1)[0]))
            case "index": return PyInt.make(try index(items, try arguments.exactly(1...1)[0], "tuple"))
            default: break
            }
        case .range:
            let range = unsafeDowncast(receiver, to: PyRange.self)
            switch name {
            case "count": return PyInt.make(try Self.contains(range, try arguments.exactly(1...1)[0]) ? 1 : 0)
            case "index":
                let item = try arguments.exactly(1...1)[0]
                guard try Self.contains(range, item) else {
                    // CPython's own message for an int; the generic search's for anything else.
                    throw PyError(.valueError, item.kind == .int || item.kind == .bool
                        ? "\(try Self.repr(item)) is not in range" : "sequence.index(x): x not in sequence")
                }
                // `contains` has checked that the value is an element, an integral one.
                let value = item.kind == .float ? Int(try item.doubleValue("range.index()")) : try item.intValue("range.index()")
                let offset = range.step > 0 ? UInt(bitPattern: value &- range.start) : UInt(bitPattern: range.start &- value)
                guard let index = Int(exactly: offset / range.step.magnitude) else {
                    throw PyError(.overflowError, "the index of \(value) in \(try Self.repr(range)) is past 64-bit ints")
                }
                return PyInt.make(index)
            default: break
            }
        default:
            if let holder = receiver as? any AttributeHolder {
                if let method = try holder.attribute(name, in: self) { return try invoke(method, arguments) }
            }
            if name == "__enter__" || name == "__exit__" {
                throw PyError(.typeError, "'\(receiver.typeName)' object does not support the context manager protocol")
            }
        }
        throw PyError(.attributeError, "'\(receiver.typeName)' object has no attribute '\(name)'")
    }

    /// `object.name`.
    func attribute(_ object: PyObject, _ name: String) throws(PyError) -> PyObject {
        if let holder = object as? any AttributeHolder, let value = try holder.attribute(name, in: self) { return value }
        if object.kind == .range {
            let range = unsafeDowncast(object, to: PyRange.self)
            switch name {
            case "start": return PyInt.make(range.start)
            case "stop": return PyInt.make(range.stop)
            case "step": return PyInt.make(range.step)
            default: break
            }
        }
        if [.list, .dict, .str, .tuple].contains(object.kind) || (object.kind == .range && (name == "count" || name == "index")) {
            // A method read without a call (`append = xs.append`): bound to its receiver.
            return PyNative(builtin: name) { interpreter, arguments throws(PyError) in
                try interpreter.callMethod(object, name, arguments)
            }
        }
        throw PyError(.attributeError, "'\(object.typeName)' object has no attribute '\(name)'")
    }

    /// `object.name = value`.
    func setAttribute(_ object: PyObject, _ name: String, _ value: PyObject) throws(PyError) {
        guard let holder = object as? any AttributeHolder else {
            throw PyError(.attributeError, "'\(object.typeName)' object has no attribute '\(name)'")
        }
        try holder.setAttribute(name, to: value)
    }

    private func count(_ items: [PyObject], _ value: PyObject) throws(PyError) -> Int {
        var total = 0
        for item in items where try Self.equal(item, value) { total += 1 }
        return total
    }

    private func index(_ items: [PyObject], _ value: PyObject, _ type: String) throws(PyError) -> Int {
        for (position, item) in items.enumerated() where try Self.equal(item, value) { return position }
        throw PyError(.valueError, "\(type).index(x): x not in \(type)")
    }

    /// Sorts `items` as Python's `sorted` does: stable, by `key` when given, reversed when asked.
    func sort(_ items: inout [PyObject], key: PyObject?, reverse: Bool) throws(PyError) {
        var keys = items
        if let key, key.kind != .none {
            keys = []
            for item in items { keys.append(try invoke(key, [item])) }
        }
        var order = Array(items.indices)
        var failure: PyError?
        // A stable merge sort on the keys, comparing with Python's `<` (reverse keeps stability,
        // as Python's does, by comparing the other way rather than reversing the result).
        order = Self.mergeSort(order) { a, b in
            do throws(PyError) {
                return reverse ? try Self.compare(.less, keys[b], keys[a]) : try Self.compare(.less, keys[a], keys[b])
            } catch {
                failure = failure ?? error
                return false
            }
        }
        if let failure { throw failure }
        items = order.map { items[$0] }
    }

    private static func mergeSort(_ values: [Int], _ less: (Int, Int) -> Bool) -> [Int] {
        guard values.count > 1 else { return values }
        let middle = values.count / 2
        let (left, right) = (mergeSort(Array(values[..<middle]), less), mergeSort(Array(values[middle...]), less))
        var merged: [Int] = []
        merged.reserveCapacity(values.count)
        var (i, j) = (0, 0)
        while i < left.count && j < right.count {
            if less(right[j], left[i]) { merged.append(right[j]); j += 1 } else { merged.append(left[i]); i += 1 }
        }
        merged += left[i...]
        merged += right[j...]
        return merged
    }

    private func listMethod(_ list: PyList, _ name: String, _ arguments: Arguments) throws(PyError) -> PyObject {
        var arguments = arguments
        arguments.function = name
        switch name {
        case "append":
            list.items.append(try arguments.exactly(1...1)[0])
        case "extend":
            // The new elements first: extending a list with itself must not read it inside its own write.
            let more = try Self.elements(of: try arguments.exactly(1...1)[0])
            list.items.append(contentsOf: more)
        case "insert":
            let values = try arguments.exactly(2...2)
            let requested = try values[0].intValue("insert() index")
            list.mutate { items in
                let count = items.count
                let position = requested < 0 ? max(requested + count, 0) : requested
                items.insert(values[1], at: min(position, count))
            }
        case "pop":
            let values = try arguments.exactly(0...1)
            let requested = try values.first?.intValue("pop() index") ?? -1
            // The check and the removal in one access: another thread may shrink the list between two.
            return try list.mutate { (items) throws(PyError) -> PyObject in
                guard !items.isEmpty else { throw PyError(.indexError, "pop from empty list") }
                let (position, overflow) = requested < 0 ? requested.addingReportingOverflow(items.count) : (requested, false)
                guard !overflow, items.indices.contains(position) else { throw PyError(.indexError, "pop index out of range") }
                return items.remove(at: position)
            }
        case "remove":
            let value = try arguments.exactly(1...1)[0]
            let at = try index(list.items, value, "list")
            try list.mutate { (items) throws(PyError) in
                // Under free another thread may have changed the list since it was searched.
                guard items.indices.contains(at) else { throw PyError(.valueError, "list.remove(x): x not in list") }
                if items[at] !== value {
                    guard try Self.equal(items[at], value) else { throw PyError(.valueError, "list.remove(x): x not in list") }
                }
                items.remove(at: at)
            }
        case "index": return PyInt.make(try index(list.items, try arguments.exactly(1...1)[0], "list"))
        case "count": return PyInt.make(try count(list.items, try arguments.exactly(1...1)[0]))
        case "reverse":
            _ = try arguments.exactly(0...0)
            list.items.reverse()
        case "sort":
            guard arguments.positional.isEmpty else { throw PyError(.typeError, "sort() takes no positional arguments") }
            let values = try arguments.bind(["key", "reverse"])
            var items = list.items
            try sort(&items, key: values[0], reverse: values[1].map(Self.truth) ?? false)
            list.items = items
        case "copy":
            _ = try arguments.exactly(0...0)
            return PyList(list.items)
        case "clear":
            _ = try arguments.exactly(0...0)
            list.items.removeAll()
        default:
            throw PyError(.attributeError, "'list' object has no attribute '\(name)'")
        }
        return PyNone.shared
    }

    private func dictMethod(_ dict: PyDict, _ name: String, _ arguments: Arguments) throws(PyError) -> PyObject {
        var arguments = arguments
        arguments.function = name
        switch name {
        case "get":
            let values = try arguments.exactly(1...2)
            return dict.entries[try PyKey(values[0])] ?? (values.count == 2 ? values[1] : PyNone.shared)
        case "keys", "values", "items":
            _ = try arguments.exactly(0...0)
            return PyDictView(dict, PyDictView.Part(rawValue: name)!)
        case "pop":
            let values = try arguments.exactly(1...2)
            if let value = dict.entries.removeValue(forKey: try PyKey(values[0])) { return value }
            guard values.count == 2 else { throw PyError(.keyError, try Self.repr(values[0])) }
            return values[1]
        case "setdefault":
            let values = try arguments.exactly(1...2)
            let key = try PyKey(values[0])
            if let value = dict.entries[key] { return value }
            let value = values.count == 2 ? values[1] : PyNone.shared
            dict.entries[key] = value
            return value
        case "update":
            let other = try arguments.exactly(1...1)[0]
            guard other.kind == .dict else { throw PyError(.typeError, "update() takes a dict, not '\(other.typeName)'") }
            for (key, value) in unsafeDowncast(other, to: PyDict.self).entries { dict.entries[key] = value }
        case "copy":
            _ = try arguments.exactly(0...0)
            let copy = PyDict()
            copy.entries = dict.entries
            return copy
        case "clear":
            _ = try arguments.exactly(0...0)
            dict.entries.removeAll()
        default:
            throw PyError(.attributeError, "'dict' object has no attribute '\(name)'")
        }
        return PyNone.shared
    }

    private func stringMethod(_ text: String, _ name: String, _ arguments: Arguments) throws(PyError) -> PyObject {
        var arguments = arguments
        arguments.function = name
        func string(_ object: PyObject) throws(PyError) -> String { try object.stringValue("\(name)() argument") }
        switch name {
        case "split", "rsplit":
            let values = try arguments.bind(["sep", "maxsplit"])
            let limit = try values[1].map { (value) throws(PyError) in try value.intValue("maxsplit") } ?? -1
            var parts: [String]
            if let separator = values[0], separator.kind != .none {
                let separator = try string(separator)
                guard !separator.isEmpty else { throw PyError(.valueError, "empty separator") }
                parts = text.pythonSplit(separator)
                if limit >= 0 && parts.count - 1 > limit {
                    parts = name == "split"
                        ? Array(parts[..<limit]) + [parts[limit...].joined(separator: separator)]
                        : [parts[..<(parts.count - limit)].joined(separator: separator)] + Array(parts[(parts.count - limit)...])
                }
            } else {
                parts = text.whitespaceSplit(limit: limit < 0 ? Int.max : limit, fromEnd: name == "rsplit")
            }
            return PyList(parts.map { PyStr($0) as PyObject })
        case "splitlines":
            _ = try arguments.exactly(0...0)
            return PyList(text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
                .dropLast(text.hasSuffix("\n") ? 1 : 0).map { PyStr(String($0)) as PyObject })
        case "strip", "lstrip", "rstrip":
            let values = try arguments.exactly(0...1)
            var characters: Set<Character>?
            if let first = values.first, first.kind != .none { characters = Set(try string(first)) }
            let strip: (Character) -> Bool = { characters?.contains($0) ?? $0.isPythonSpace }
            var result = Substring(text)
            if name != "rstrip" { result = result.drop(while: strip) }
            if name != "lstrip" { while let last = result.last, strip(last) { result.removeLast() } }
            return PyStr(String(result))
        case "join":
            var parts: [String] = []
            for item in try Self.elements(of: try arguments.exactly(1...1)[0]) {
                guard item.kind == .str else { throw PyError(.typeError, "sequence item \(parts.count): expected str instance, \(item.typeName) found") }
                parts.append(unsafeDowncast(item, to: PyStr.self).value)
            }
            return PyStr(parts.joined(separator: text))
        case "startswith", "endswith":
            let value = try arguments.exactly(1...1)[0]
            let candidates = value.kind == .tuple ? unsafeDowncast(value, to: PyTuple.self).items : [value]
            for candidate in candidates {
                let affix = try string(candidate)
                if name == "startswith" ? text.hasPrefix(affix) : text.hasSuffix(affix) { return PyBool.true }
            }
            return PyBool.false
        case "upper": _ = try arguments.exactly(0...0); return PyStr(text.uppercased())
        case "lower": _ = try arguments.exactly(0...0); return PyStr(text.lowercased())
        case "title":
            _ = try arguments.exactly(0...0)
            var result = ""
            var previousIsLetter = false
            for c in text {
                result += previousIsLetter ? c.lowercased() : c.uppercased()
                previousIsLetter = c.isLetter
            }
            return PyStr(result)
        case "replace":
            let values = try arguments.exactly(2...2)
            let (old, new) = (try string(values[0]), try string(values[1]))
            guard !old.isEmpty else { throw PyError(.notImplementedError, "replace() with an empty pattern is not supported") }
            return PyStr(text.pythonSplit(old).joined(separator: new))
        case "find", "index":
            let needle = Array(try string(try arguments.exactly(1...1)[0]))
            let haystack = Array(text)
            if haystack.count >= needle.count {
                for start in 0...(haystack.count - needle.count) where haystack[start..<(start + needle.count)].elementsEqual(needle) {
                    return PyInt.make(start)
                }
            }
            if name == "index" { throw PyError(.valueError, "substring not found") }
            return PyInt.make(-1)
        case "count":
            let needle = try string(try arguments.exactly(1...1)[0])
            return PyInt.make(needle.isEmpty ? text.count + 1 : text.pythonSplit(needle).count - 1)
        case "isdigit":
            _ = try arguments.exactly(0...0)
            return PyBool.of(!text.isEmpty && text.allSatisfy(\.isNumber))
        case "isalpha":
            _ = try arguments.exactly(0...0)
            return PyBool.of(!text.isEmpty && text.allSatisfy(\.isLetter))
        case "isspace":
            _ = try arguments.exactly(0...0)
            return PyBool.of(!text.isEmpty && text.allSatisfy(\.isPythonSpace))
        case "ljust", "rjust", "center", "zfill":
            let values = try arguments.exactly(1...(name == "zfill" ? 1 : 2))
            let width = try values[0].intValue("\(name)() width")
            let fill = values.count == 2 ? try string(values[1]) : (name == "zfill" ? "0" : " ")
            guard fill.count == 1 else { throw PyError(.typeError, "The fill character must be exactly one character long") }
            let padding = max(width - text.count, 0)
            let pad = { (n: Int) in String(repeating: fill, count: n) }
            switch name {
            case "ljust": return PyStr(text + pad(padding))
            case "rjust": return PyStr(pad(padding) + text)
            case "zfill":
                if let sign = text.first, sign == "-" || sign == "+" { return PyStr(String(sign) + pad(padding) + text.dropFirst()) }
                return PyStr(pad(padding) + text)
            default:
                let left = padding / 2 + (padding % 2 == 1 && width % 2 == 1 ? 1 : 0)
                return PyStr(pad(left) + text + pad(padding - left))
            }
        case "format":
            throw PyError(.notImplementedError, "str.format() is not supported; use an f-string")
        case "encode":
            throw PyError(.notImplementedError, "bytes are not supported")
        default:
            throw PyError(.attributeError, "'str' object has no attribute '\(name)'")
        }
    }
}

extension String {
    /// Python's `split()` and `rsplit()` with no separator: runs of whitespace split, none at the
    /// ends; after `limit` splits the rest is one piece, its whitespace on the far side kept.
    func whitespaceSplit(limit: Int, fromEnd: Bool) -> [String] {
        let characters = fromEnd ? Array(reversed()) : Array(self)
        var pieces: [String] = []
        var index = 0
        func skipWhitespace() { while index < characters.count && characters[index].isPythonSpace { index += 1 } }
        skipWhitespace()
        while index < characters.count && pieces.count < limit {
            let start = index
            while index < characters.count && !characters[index].isPythonSpace { index += 1 }
            pieces.append(String(characters[start..<index]))
            skipWhitespace()
        }
        if index < characters.count { pieces.append(String(characters[index...])) }
        return fromEnd ? pieces.reversed().map { String($0.reversed()) } : pieces
    }
}

extension Character {
    /// Python's `str.isspace()` for one character: Unicode whitespace, and the information
    /// separators U+001C – U+001F, which Python counts and Swift does not.
    var isPythonSpace: Bool {
        isWhitespace || ("\u{1C}"..."\u{1F}").contains(self)
    }
}
