# Threads, locks, a queue and events; deterministic output. CPython 3.11 wrote threads.expected.
import threading
import time
import queue

counter = 0
lock = threading.Lock()

def add(times):
    global counter
    for _ in range(times):
        with lock:
            counter += 1

workers = [threading.Thread(target=add, args=(2000,)) for _ in range(4)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print("counter", counter, [w.is_alive() for w in workers])

q = queue.Queue()
results = []
def consume():
    while True:
        item = q.get()
        if item is None:
            break
        results.append(item * item)
        q.task_done()

consumer = threading.Thread(target=consume, name="consumer")
consumer.start()
for n in range(10):
    q.put(n)
q.join()
q.put(None)
consumer.join()
print("squares", sorted(results), consumer.name)

try:
    q.get(timeout=0.01)
except queue.Empty:
    print("empty after timeout")
try:
    q.get_nowait()
except queue.Empty:
    print("empty at once")

ready = threading.Event()
seen = []
def waiter():
    ready.wait()
    seen.append(threading.current_thread().name)

t = threading.Thread(target=waiter, name="waiter-1")
t.start()
time.sleep(0.01)
print("before set", seen, ready.is_set())
ready.set()
t.join()
print("after set", seen, threading.current_thread().name)

start = time.perf_counter()
sleepers = [threading.Thread(target=time.sleep, args=(0.05,)) for _ in range(4)]
for s in sleepers:
    s.start()
for s in sleepers:
    s.join()
elapsed = time.perf_counter() - start
print("four 50 ms sleeps overlap:", elapsed < 0.15)
print("acquire", lock.acquire(), lock.locked(), lock.acquire(blocking=False), lock.acquire(timeout=0.01))
lock.release()
print("released", lock.locked(), threading.active_count())
