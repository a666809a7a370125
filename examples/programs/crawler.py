# A crawler-like I/O loop on threads: each "fetch" blocks for 20 ms (time.sleep stands in for a
# network round trip, and releases the lock as a socket read does), then parses the page a little
# in Python. Threads overlap the waits, so the work scales with the thread count.
#
#   gillab exec examples/programs/crawler.py 4            # 4 threads
#   gillab exec --compare-cpython examples/programs/crawler.py
import sys
import threading
import time

PAGES = 48
FETCH_SECONDS = 0.02


def fetch(url):
    time.sleep(FETCH_SECONDS)
    return f"<html><title>{url}</title>" + "<a href='/next'>link</a>" * 20 + "</html>"


def parse(page):
    links = page.count("<a ")
    title = page[page.find("<title>") + 7:page.find("</title>")]
    return title, links


def crawl(urls, found, lock):
    for url in urls:
        title, links = parse(fetch(url))
        with lock:
            found[title] = links


def main(threads):
    urls = [f"https://example.org/page/{n}" for n in range(PAGES)]
    found = {}
    lock = threading.Lock()
    workers = [threading.Thread(target=crawl, args=(urls[i::threads], found, lock)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(f"crawled {len(found)} pages, {sum(found.values())} links")


main(int(sys.argv[1]) if len(sys.argv) > 1 else 4)
