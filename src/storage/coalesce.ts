/**
 * Serialised re-runs of a job that brings something up to date: a call while the job runs does
 * not start a second run, it makes the current one run once more when done, so the latest state
 * is always picked up and at most one run is ever in flight.
 *
 * @module
 */

/**
 * Wraps `job`.
 * @param job brings the state up to date (reload leaders, take coordinator shards, …)
 * @returns a function that runs the job, or asks the running one to run again; it resolves
 *   when a run that started after the call has finished
 */
export function coalesced(job: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again = false;
  return () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await job();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
}
