import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Two test files at a time, whatever the core count (Vitest would run one on two cores): the
    // files mostly wait on PostgreSQL, Chromium, child processes and timers, not on the CPU
    // (figures in the README's Tests section). E2e files still run one at a time among themselves.
    maxWorkers: 2,
    projects: [
      {
        test: {
          name: 'e2e',
          include: ['packages/web/e2e/**/*.test.ts'],
          globalSetup: ['packages/server/test/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          // expect.poll gives up after 1 s by default: too short for Chromium on a busy machine.
          expect: { poll: { timeout: 20_000 } },
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'reliability',
          include: ['test/**/*.test.ts'],
          globalSetup: ['packages/server/test/global-setup.ts'],
          testTimeout: 600_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          name: 'core',
          include: ['packages/core/test/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'exchange',
          include: ['packages/exchange/test/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'client',
          include: ['packages/client/test/**/*.test.ts'],
          globalSetup: ['packages/server/test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'server',
          include: ['packages/server/test/**/*.test.ts'],
          globalSetup: ['packages/server/test/global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
