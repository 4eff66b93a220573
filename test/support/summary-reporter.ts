// One plain closing line for the whole run, "tests: N passed, N failed, N skipped", in the form any CI
// that reads test output understands; vitest's own summary stays above it.
import type { Reporter, RunnerTestFile, RunnerTask } from 'vitest/node';

function count(tasks: RunnerTask[], tally: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.type === 'suite') count(t.tasks, tally);
    else if (t.result?.state === 'pass') tally.passed++;
    else if (t.result?.state === 'fail') tally.failed++;
    else tally.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = [], errors: unknown[] = []): void {
    const tally = { passed: 0, failed: 0, skipped: 0 };
    count(files, tally);
    // A file that failed to load has no tests to count: it fails the run all the same.
    const broken = files.filter((f) => f.result?.state === 'fail' && f.tasks.length === 0).length + errors.length;
    process.stdout.write(`tests: ${tally.passed} passed, ${tally.failed + broken} failed, ${tally.skipped} skipped\n`);
  }
}
