// Jest for `pnpm consumer`: the packed-tarball apps in e2e/, which `pnpm jest` leaves out (they need a build).
import base from '../../jest.config.mjs';

/** @type {import('jest').Config} */
const config = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/packages/consumer/e2e'],
  testMatch: ['**/*.test.ts'],
  // npm installs, then apps that wait out their 5 s readiness delay after SIGTERM: slow, mostly idle.
  testTimeout: 300_000,
  maxConcurrency: 32,
};

export default config;
