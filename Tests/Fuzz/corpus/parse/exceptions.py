# try, except, else, finally and raise, as CPython runs them; CPython 3.11 wrote exceptions.expected.
def risky(kind):
    if kind == 0:
        return 1 // 0
    if kind == 1:
        return [1, 2][5]
    if kind == 2:
        return {"a": 1}["b"]
    if kind == 3:
        raise ValueError("bad value " + str(kind))
    if kind == 4:
        a, b = [1, 2, 3]
    if kind == 5:
        return int("x")
    if kind == 6:
        return undefined_name
    if kind == 7:
        return "a" + 1
    if kind == 8:
        assert kind == 0, "kind is not 0"
    if kind == 9:
        raise KeyError("k")
    return "fine"

for kind in range(11):
    try:
        result = risky(kind)
    except ZeroDivisionError as e:
        print(kind, "ZeroDivisionError:", e)
    except (IndexError, KeyError) as e:
        print(kind, "lookup:", repr(e))
    except ValueError as e:
        print(kind, "ValueError:", e, e.args)
    except Exception as e:
        print(kind, "other:", repr(e))
    else:
        print(kind, "no exception:", result)
    finally:
        print(kind, "finally")

def nested():
    try:
        try:
            raise RuntimeError("inner")
        finally:
            print("inner finally")
    except RuntimeError as e:
        print("caught", e)
        try:
            raise
        except RuntimeError as again:
            print("re-raised", again)
    return "after"
print(nested())

def early():
    for i in range(5):
        try:
            if i == 1:
                continue
            if i == 3:
                break
            print("body", i)
        finally:
            print("cleanup", i)
    try:
        return "returned"
    finally:
        print("finally before return")
print(early())

def unpack(values):
    try:
        a, b = values
        return a + b
    except ValueError as e:
        return str(e)
print(unpack([1, 2]), unpack([1]), unpack([1, 2, 3]), unpack("ab"))

try:
    raise ArithmeticError
except LookupError:
    print("wrong")
except ArithmeticError as e:
    print("arithmetic", repr(e), isinstance(e, ArithmeticError), isinstance(e, Exception))

try:
    raise OverflowError("big")
except ArithmeticError as e:
    print("subclass caught", e)

count = 0
while True:
    try:
        count += 1
        if count == 3:
            raise TypeError("stop")
    except RuntimeError:
        pass
    except Exception:
        break
print("count", count)
