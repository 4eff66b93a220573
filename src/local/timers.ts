// Background jobs on timers for the local runtime (EventBridge schedules play this part in AWS).
// A job never overlaps itself; a failure is logged and the next tick tries again.

export interface TimedJob {
  name: string;
  intervalMs: number;
  run(): Promise<unknown>;
}

export function startTimers(jobs: TimedJob[], log: (line: string) => void): { stop(): Promise<void> } {
  const running = new Map<string, Promise<void>>();
  let stopping = false;
  const handles = jobs.map((job) =>
    setInterval(() => {
      if (stopping || running.has(job.name)) return;
      const p = job
        .run()
        .then(
          (summary) => {
            if (summary !== undefined) log(JSON.stringify({ job: job.name, ...(typeof summary === 'object' ? summary : { result: summary }) }));
          },
          (e: unknown) => log(JSON.stringify({ job: job.name, level: 'error', error: (e as Error).message ?? String(e) })),
        )
        .finally(() => running.delete(job.name));
      running.set(job.name, p);
    }, job.intervalMs),
  );
  return {
    async stop() {
      stopping = true;
      for (const h of handles) clearInterval(h);
      await Promise.allSettled([...running.values()]);
    },
  };
}
