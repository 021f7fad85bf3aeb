"""Running a callable in several threads at once (for re-entrancy tests)."""

import threading


def run_in_threads(target, count: int) -> None:
    """Start ``target(index)`` in ``count`` threads at once and wait for all of them."""
    threads = [threading.Thread(target=target, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
