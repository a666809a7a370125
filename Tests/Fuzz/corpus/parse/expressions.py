def f(a, b):
    c = [a, b, a * b, -a, a // 3, a % 7, not (a < b and b >= 2 or a != 1)]
    return f(c[0] - 1, b) if a > 0 else c
