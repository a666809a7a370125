# A CPU-bound Python loop on threads: a fixed total of work, split across the threads. Only one
# thread runs Python-level code at a time, so more threads do not finish sooner (and switching
# costs a little).
#
#   gillab exec examples/programs/cpu_threads.py 2              (2 threads, 1,500,000 steps)
#   gillab exec --policies new-gil,legacy-gil,per-interpreter examples/programs/cpu_threads.py 2
#   gillab exec --compare-cpython --threads 1,2 examples/programs/cpu_threads.py 6000000
import sys
import threading

TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 1500000


def work(start, stop, results, index):
    total = 0
    for n in range(start, stop):
        total += n % 7 * (n % 3)
    results[index] = total


def main(threads):
    results = [0] * threads
    chunk = TOTAL // threads
    workers = []
    for i in range(threads):
        stop = TOTAL if i == threads - 1 else (i + 1) * chunk
        workers.append(threading.Thread(target=work, args=(i * chunk, stop, results, i)))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"sum {sum(results)} over {threads} threads")


main(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
