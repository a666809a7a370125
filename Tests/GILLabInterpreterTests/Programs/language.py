# The subset, statement by statement; CPython 3.11 wrote language.expected.
import math
from math import sqrt as root, floor

a, b = 1, 2
a, b = b, a
(c, d), e = (3, 4), 5
print(a, b, c, d, e)
for i, (x, y) in enumerate([(1, 2), (3, 4)], start=1):
    print(i, x + y)
first = second = [0]
print(first is second, first == [0], None is None, first is not None)

print(3 in [1, 2, 3], "b" in "abc", 4 not in (1, 2), "k" in {"k": 1}, "z" not in {"k": 1})
print([x * x for x in range(6) if x % 2 == 1], [(i, j) for i in range(3) for j in range(i)])
print({k: len(k) for k in ["aa", "b", "ccc"]}, sum(x for x in range(10)), max(len(w) for w in ["a", "bbb"]))

n = 17
n //= 2; print(n)
n %= 5; print(n)
n **= 3; print(n)
n -= 1; n *= 2; n /= 4; print(n)
bits = 0b1010
bits |= 1; bits &= 0b1110 | 1; bits ^= 0xF; bits <<= 2; bits >>= 1
print(bits, 2 ** 10, 2 ** -1, (-2) ** 3, -2 ** 2, 7 // -2, -7 % 3, 7.5 % 2, divmod(17, 5))

def greet(name, greeting="hello", punctuation="!"):
    return f"{greeting}, {name}{punctuation}"

print(greet("ada"), greet("bob", punctuation="?"), greet(greeting="hi", name="cy"))

total = 0
def bump(k):
    global total
    total += k
    return total
bump(3); bump(4)
print(total)

square = lambda v: v * v
print(square(7), sorted(["bb", "a", "ccc"], key=lambda s: -len(s)), sorted([3, 1, 2], reverse=True))
pairs = [("b", 2), ("a", 2), ("c", 1)]
print(sorted(pairs, key=lambda p: p[1]), min(pairs, key=lambda p: p[0]), max([1, 9, 3]), min(4, 2, 8))

value = 3.14159
print(f"{value:.2f} {value:8.3f}| {42:5d}| {42:<5}| {'x':^5}| {1234567:,} {0.25:.1%} {255:x} {7:03d} {-3.5:+.1f}")
print(f"{value!r} {'q'!r} {[1, 'a']} {{braces}} {a + b} {value:e} {1e-7} {1e16} {0.1 + 0.2}")
print(round(2.5), round(3.5), round(2.675, 2), round(-0.5), round(1234, -2), round(1.25, 1), abs(-2.5), int(-3.9), int("0x1f", 16))

words = "  the quick  brown fox  ".split()
print(words, "a,b,,c".split(","), "x-y-z".split("-", 1), "-".join(words), "  pad  ".strip(), "xxhixx".strip("x"))
print("Hello".upper(), "Hello".lower(), "hello world".title(), "abc".startswith("ab"), "abc".endswith(("x", "c")))
print("banana".replace("an", "AN"), "banana".find("na"), "banana".count("a"), "42".isdigit(), "4a".isdigit(), "ab".center(6, "*"))
print("line1\nline2\n".splitlines(), "7".zfill(3), "ab".ljust(4) + "|", "ab".rjust(4), "abc"[1:], "abcdef"[::2], "abc"[::-1])
xs = [5, 3, 8]
xs.append(1); xs.extend([9, 0]); xs.insert(0, 7); xs.remove(8)
print(xs, xs.pop(), xs.pop(0), xs.index(3), xs.count(5), xs[1:3], xs[-2:], xs[:-1])
xs.sort(); print(xs); xs.reverse(); print(xs)
del xs[0]
print(xs, len(xs), list(reversed(xs)), list(zip([1, 2, 3], "ab")), list(range(10, 0, -3)))
d = {"b": 2, "a": 1}
d["c"] = 3
d.setdefault("a", 100)
print(d, list(d.keys()), list(d.values()), list(d.items()), d.get("z"), d.get("z", 0), d.pop("b"), d)
del d["a"]
d.update({"e": 5})
print(d, len(d), "c" in d, dict(x=1, y=2), dict([("p", 1)]), {(1, 2): "t"}[(1, 2)], {1: "one"}[1.0])
t = (1, 2, 3)
print(t, t[1], t[-1], t[0:2], (1,), (), t + (4,), t * 2, t.count(2), t.index(3), len(t), (1, 2) < (1, 3), [1, 2] < [1, 2, 0])
print(isinstance(1, int), isinstance(True, int), isinstance(1.0, (int, float)), isinstance("s", list), bool([]), bool([0]))
print(any([0, 0, 1]), all([1, 1, 0]), sum([0.5, 0.25]), sum([[1], [2]], []), str(None), repr("it's"), repr('a"b'))
print(math.sqrt(2), root(16), floor(-2.5), math.ceil(2.1), math.pi, math.log(100, 10), math.gcd(12, 18), math.factorial(5), math.isclose(0.1 + 0.2, 0.3))
print(int(7.9), float("1e3"), float(2), str(1.0), 1 / 3, 10 / 4, 2 ** 0.5, 1e300 * 10, -1e300 * 10)
print(chr(65), ord("a"), hex(255), hex(-1), format(3.14159, ".3f"), format(5, "04d"), 0.1 * 3, 100000000000000000000.0)

i = 0
while True:
    i += 1
    if i < 3:
        continue
    if i > 5:
        break
print("loop", i)
x = 10 if i > 5 else 20
y = "big" if x > 5 and not x > 100 else "small"
print(x, y, 0 or "default", "" and "never", [] or [1])
if x > 5: print("one-line if")
assert x == 10, "x should be 10"

# range is a sequence, dict views are live, and a float's spec with no type keeps ".0".
r = range(2, 20, 3)
print(r, len(r), r[1], r[-1], r[1:4], r[::-1], 5 in r, 6 in r, 8.0 in r, r.index(11), r.count(4), list(reversed(r)))
print(sum(r), sum(r), range(0) == range(5, 5), range(1, 4) == range(1, 4, 1), r.start, r.stop, r.step, bool(range(3, 1)))
view = {"k": 1}
keys, items = view.keys(), view.items()
view["j"] = 2
print(keys, items, view.values(), len(keys), "j" in keys, ("j", 2) in items, sorted(keys), keys == {"j": 0, "k": 0}.keys())
print(f"{12.0:.3}|{123.0:.3}|{0.0:.1}|{99.95:.3}|{1 / 3:.4}|{1e-5:.2}|{2.5:8.2}|{1.0:.2}")
print("  a b  c ".split(maxsplit=1), "  a b  c ".rsplit(None, 1), "a b".split(None, 0), "a,b".split(",", 9223372036854775807))
print(range(10, 0, -1).index(6), range(10, 0, -2).index(6), list(reversed(range(10, 0, -3))), range(0, 10, 2)[-1:-4:-1])
print(-9223372036854775808.0 in range(-9223372036854775807 - 1, 0), list(reversed(range(-9223372036854775807 - 1, -9223372036854775807 + 5, 3))))
print({(1, 2): 0}.keys() == {1: 2}.items(), format(True, "<"), format(True, ">5"), f"{1e100:.120}"[:24], f"{0.1:.60f}")
looped = [1]
looped.append(looped)
nest = {"v": 1}
nest["self"] = nest
nest["view"] = nest.values()
print(looped, nest, (looped,), str(looped))
looped.pop()  # GILLab has no cycle collector: break the cycles, or they leak
del nest["self"], nest["view"]
print("done")
