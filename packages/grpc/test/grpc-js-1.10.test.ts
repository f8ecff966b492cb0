/** The scenarios on grpc-js 1.10.2, the oldest proven (1.10.0–1.10.1 drop a session tryShutdown() is closing, so forceShutdown() cannot cancel its streams). */
import * as grpc from '@grpc/grpc-js';
import { drainScenarios } from './scenarios.js';

jest.mock('@grpc/grpc-js', () => jest.requireActual('grpc-js-1.10'));

describe('@lameduck/grpc on @grpc/grpc-js 1.10.2', () => {
  test('the scenarios below load grpc-js 1.10.2', () => {
    expect(jest.requireActual<{ version: string }>('grpc-js-1.10/package.json').version).toBe('1.10.2');
    expect(grpc.Server).toBe(jest.requireActual<typeof grpc>('grpc-js-1.10').Server);
  });
  drainScenarios();
});
