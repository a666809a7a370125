x = f"{a!r:>{w}}"
class A:
  pass
def f(*a): yield
