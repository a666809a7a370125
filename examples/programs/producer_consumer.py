# A producer/consumer pipeline over queue.Queue: one producer makes jobs, consumers square and
# sum them. get() blocks with the lock released, so an idle consumer costs nothing.
#
#   gillab exec examples/programs/producer_consumer.py 3
import queue
import sys
import threading

JOBS = 2000
DONE = None


def produce(jobs, consumers):
    for n in range(JOBS):
        jobs.put(n)
    for _ in range(consumers):
        jobs.put(DONE)


def consume(jobs, totals, lock):
    subtotal = 0
    while True:
        job = jobs.get()
        if job is DONE:
            break
        subtotal += job * job
    with lock:
        totals.append(subtotal)


def main(consumers):
    jobs = queue.Queue(maxsize=64)
    totals = []
    lock = threading.Lock()
    threads = [threading.Thread(target=produce, args=(jobs, consumers), name="producer")]
    threads += [threading.Thread(target=consume, args=(jobs, totals, lock), name=f"consumer-{i}") for i in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"{len(totals)} consumers summed {sum(totals)}")


main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
