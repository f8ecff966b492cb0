// Jest for `pnpm consumer`: the packed-tarball apps in e2e/, which `pnpm jest` leaves out (they need a build).
// Loaded as the top-level jest.config.ts is (Node's type stripping): type-only imports, explicit `.ts` extensions.
import type { Config } from 'jest';
import base from '../../jest.config.ts';

const config: Config = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/packages/consumer/e2e'],
  testMatch: ['**/*.test.ts'],
  // npm installs, then apps that wait out their 5 s readiness delay after SIGTERM: slow, mostly idle.
  testTimeout: 300_000,
  maxConcurrency: 32,
};

export default config;
