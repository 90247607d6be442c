"""Real races in tests: jobs released at one instant by a barrier, each in a thread with its own
app context (so its own database connection), as two requests or two workers would be."""
from __future__ import annotations

import threading

from marketplace.core.extensions import db


def run_together(app, jobs) -> list:
    """Start every job at the same instant; each job's result, or the exception it raised."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def worker(index, job):
        with app.app_context():
            barrier.wait()
            try:
                results[index] = job()
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - the test inspects what each one got
                db.session.rollback()
                results[index] = exc

    threads = [threading.Thread(target=worker, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a job hung (deadlock?)"
    db.session.rollback()  # end the test's own read snapshot so it sees what the threads committed
    return results
