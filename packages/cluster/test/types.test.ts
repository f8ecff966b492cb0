/** Type tests for @lameduck/cluster's public API and core's deploy helpers: checked by the typecheck, no-ops in Jest. */
import { expectTypeOf } from 'expect-type';
import {
  createCluster,
  notifyReady,
  type ClusterOptions,
  type ClusterShutdownResult,
  type ClusterSignalHandle,
  type ClusterSignalOptions,
  type LameduckCluster,
  type RollResult,
  type WorkerExit,
} from '@lameduck/cluster';
import { inheritedListener, type InheritedListener, type NotifyReadyOptions } from '@lameduck/core';

test('the public API has the types it documents', () => {
  expectTypeOf(createCluster).parameter(0).toEqualTypeOf<ClusterOptions | undefined>();
  expectTypeOf(createCluster).returns.toEqualTypeOf<LameduckCluster>();
  expectTypeOf<LameduckCluster['roll']>().returns.toEqualTypeOf<Promise<RollResult>>();
  expectTypeOf<LameduckCluster['shutdown']>().returns.toEqualTypeOf<Promise<ClusterShutdownResult>>();
  expectTypeOf<LameduckCluster['handleSignals']>().parameter(0).toEqualTypeOf<ClusterSignalOptions | undefined>();
  expectTypeOf<LameduckCluster['handleSignals']>().returns.toEqualTypeOf<ClusterSignalHandle>();
  expectTypeOf<RollResult['retired']>().toEqualTypeOf<WorkerExit[]>();
  expectTypeOf<ClusterShutdownResult['exitCode']>().toEqualTypeOf<0 | 1>();
  expectTypeOf(notifyReady).parameter(1).toEqualTypeOf<NotifyReadyOptions | undefined>();
  expectTypeOf(notifyReady).returns.toEqualTypeOf<Promise<boolean>>();
  expectTypeOf(inheritedListener).returns.toEqualTypeOf<InheritedListener | undefined>();
});
