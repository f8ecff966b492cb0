// Jest for the whole workspace: tests run against the packages' TypeScript sources, no build needed.
// Every supported Node loads this file by stripping its types, as an ES module: so only syntax that strips
// to JavaScript (type-only imports, annotations; no enums or namespaces) and explicit `.ts` extensions.
import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  // Nest 12 is ES modules only: its matrix entries run in their own project (packages/conformance/jest.nest-12.config.mjs).
  testPathIgnorePatterns: ['/node_modules/', '/packages/conformance/test/nestjs-12-'],
  transform: {
    '^.+\\.ts$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          moduleResolution: 'node10',
          target: 'es2022',
          esModuleInterop: true,
          isolatedModules: true,
          // As Nest projects build (tsc or swc): Nest's injection reads the emitted constructor types.
          experimentalDecorators: true,
          emitDecoratorMetadata: true,
          types: ['node', 'jest'],
        },
      },
    ],
  },
  moduleNameMapper: {
    '^@lameduck/([a-z-]+)$': '<rootDir>/packages/$1/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // No-op unless LAMEDUCK_WITHOUT_NODE_INTERNALS=1: then every test runs on lameduck's public-API path.
  setupFiles: ['<rootDir>/packages/test-utils/src/without-internals.cjs'],
  testTimeout: 30_000,
  // Two cores: child-process tests run side by side with in-process ones, but not more.
  maxWorkers: 2,
};

export default config;
