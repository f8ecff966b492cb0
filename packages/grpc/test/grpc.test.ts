/** A grpc-js 1.14 server drained by lameduck, with real grpc-js clients (the scenarios are in scenarios.ts). */
import { drainScenarios } from './scenarios.js';

describe('@lameduck/grpc on @grpc/grpc-js 1.14', drainScenarios);
