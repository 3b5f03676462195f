/**
 * Runs `work` every `intervalMs`, never two at once: the next run is scheduled when the last one
 * ends, so a slow pass delays the next instead of piling up. A failure goes to `onFailure` and the
 * next run retries. `stop()` waits for the run in progress.
 */
export const repeat = (work: () => Promise<unknown>, onFailure: (error: unknown) => void) => {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = true;

  const schedule = (intervalMs: number) => {
    timer = setTimeout(() => {
      running = work()
        .then(() => {})
        .catch(onFailure)
        .finally(() => {
          running = undefined;
          if (!stopped) schedule(intervalMs);
        });
    }, intervalMs);
  };

  return {
    get stopped(): boolean {
      return stopped;
    },
    start(intervalMs: number): void {
      if (!stopped) return;
      stopped = false;
      schedule(intervalMs);
    },
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
};
