# A pipeline that parses text in Python and multiplies matrices in OpenBLAS: gillab.dgemm
# releases the lock around the C call (release=True), as NumPy's matmul does, so threads overlap
# the products while each parse holds the lock. Run it with release=False to see the difference:
#
#   gillab exec examples/programs/pipeline.py 2
#   gillab exec examples/programs/pipeline.py 2 hold
# This one imports gillab, so it runs only in GILLab.
import sys
import threading
import gillab

N = 192
BATCHES = 32


def parse(batch):
    line = ",".join(str((batch * 7 + k) % 10) for k in range(64))
    return sum(int(field) for field in line.split(","))


def work(batches, release, out, lock):
    a = gillab.matrix(N, seed=1)
    b = gillab.matrix(N, seed=2)
    c = gillab.zeros(N)
    for batch in batches:
        weight = parse(batch)
        gillab.set(a, 0, 0, weight / 100)
        gillab.dgemm(a, b, c, release=release)
        with lock:
            out[batch] = round(gillab.get(c, 0, 0), 6)


def main(threads, release):
    out = {}
    lock = threading.Lock()
    workers = [threading.Thread(target=work, args=(range(i, BATCHES, threads), release, out, lock)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"{len(out)} batches, checksum {round(sum(out.values()), 4)}")


main(int(sys.argv[1]) if len(sys.argv) > 1 else 2, not (len(sys.argv) > 2 and sys.argv[2] == "hold"))
