import { defineConfig } from 'vitest/config';

// Two projects: pure-logic unit tests beside the code (no emulators needed), and integration tests
// under test/ that run against DynamoDB Local and the S3 emulator started once by the global setup.
// Local development runs on Node 20 (Lambda runs 22+); the SDK's notice about future releases needing
// Node 22 says nothing about the versions the lock file pins, so it is kept out of test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'test/harness/**/*.test.ts', 'examples/**/*.test.ts', 'console/src/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: ['test/harness/**', 'test/infra/**'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
