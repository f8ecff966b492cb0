// Jest for `pnpm jest:nest-12`: the conformance matrix's Nest 12 kinds, which `pnpm jest` leaves out.
// Nest 12 ships ES modules only, which Jest's CommonJS runtime cannot require on Node 22; this project runs
// the same suite's files as ES modules (node --experimental-vm-modules), with Nest resolved from the
// separate install in packages/nestjs/test/nest-12.
import base from '../../jest.config.ts';

const [transformer, { tsconfig }] = base.transform['^.+\\.ts$'];
const NEST_12 = '<rootDir>/packages/nestjs/test/nest-12/node_modules/';

/** @type {import('jest').Config} */
const config = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/packages/conformance/test'],
  testMatch: ['**/nestjs-12-*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      transformer,
      { useESM: true, tsconfig: { ...tsconfig, module: 'esnext', moduleResolution: 'bundler' } },
    ],
  },
  moduleNameMapper: {
    // Nest and its peers, for the tests and @lameduck/nestjs alike: one Nest in the process.
    '^(@nestjs/[a-z-]+|reflect-metadata|rxjs)(/.*)?$': `${NEST_12}$1$2`,
    ...base.moduleNameMapper,
  },
};

export default config;
