/** Type tests for the public API: checked by the typecheck, run as no-ops by Jest. */
import type http from 'node:http';
import type http2 from 'node:http2';
import { expectTypeOf } from 'expect-type';
import {
  createLameduck,
  DEFAULTS,
  resolveManager,
  type AdapterOptions,
  type AnyRequest,
  type AnyResponse,
  type BunServer,
  type DenoServer,
  type Drainable,
  type Lameduck,
  type LameduckOptions,
  type LameduckState,
  type PlainResponse,
  type ShutdownResult,
  type SignalHandle,
} from '@lameduck/core';

test('the public API has the types it documents', () => {
  expectTypeOf(createLameduck).parameter(0).toEqualTypeOf<LameduckOptions | undefined>();
  expectTypeOf(createLameduck).returns.toEqualTypeOf<Lameduck>();
  expectTypeOf<Lameduck['state']>().toEqualTypeOf<LameduckState>();
  expectTypeOf<LameduckState>().toEqualTypeOf<'serving' | 'lameduck' | 'draining' | 'cleanup' | 'closed'>();
  expectTypeOf<Lameduck['shutdown']>().returns.toEqualTypeOf<Promise<ShutdownResult>>();
  expectTypeOf<Lameduck['handleSignals']>().returns.toEqualTypeOf<SignalHandle>();
  expectTypeOf<Lameduck['intercept']>().parameters.toEqualTypeOf<[AnyRequest, AnyResponse]>();
  expectTypeOf<AnyRequest>().toEqualTypeOf<http.IncomingMessage | http2.Http2ServerRequest>();
  expectTypeOf<AnyResponse>().toEqualTypeOf<http.ServerResponse | http2.Http2ServerResponse>();
  expectTypeOf<Lameduck['intercept']>().returns.toEqualTypeOf<Promise<PlainResponse> | undefined>();
  expectTypeOf<Lameduck['addTask']>().toBeCallableWith(Promise.resolve(1));
  expectTypeOf<Lameduck['addTask']>().toBeCallableWith(async (signal: AbortSignal) => signal.aborted);
  expectTypeOf<Lameduck['signal']>().toEqualTypeOf<AbortSignal>();
  expectTypeOf<ShutdownResult['exitCode']>().toEqualTypeOf<0 | 1>();
  expectTypeOf(resolveManager).parameter(0).toEqualTypeOf<AdapterOptions | undefined>();
  expectTypeOf(DEFAULTS.timeout).toExtend<number>();
  expectTypeOf<AdapterOptions>().toMatchTypeOf<LameduckOptions>();

  // Type-checked, never called: these must not compile.
  const mistakes = () => {
    // @ts-expect-error: unknown options are a type error too, not only a runtime one
    createLameduck({ timout: 1000 });
    // @ts-expect-error: durations are numbers
    createLameduck({ timeout: '25s' });
    // @ts-expect-error: a server is required
    createLameduck().attach();
  };
  expectTypeOf(mistakes).toBeFunction();
});

test('Fetch-API servers and drain targets: what attach() and fetch() take and give', () => {
  const lameduck = createLameduck();
  type Attachable = Parameters<Lameduck['attach']>[0];
  expectTypeOf<BunServer>().toMatchTypeOf<Attachable>();
  expectTypeOf<DenoServer>().toMatchTypeOf<Attachable>();
  expectTypeOf<Drainable>().toMatchTypeOf<Attachable>();
  // The handler's own extra parameters (Bun's server, Deno's info) and result pass through.
  const wrapped = lameduck.fetch((request: Request, info: { remoteAddr: { hostname: string } }) =>
    Promise.resolve(new Response(`${request.url} ${info.remoteAddr.hostname}`)),
  );
  expectTypeOf(wrapped).parameters.toEqualTypeOf<[Request, { remoteAddr: { hostname: string } }]>();
  const answer: Awaited<ReturnType<typeof wrapped>> = new Response();
  expectTypeOf(answer).toEqualTypeOf<Response>();
  expectTypeOf(lameduck.interceptFetch).returns.toEqualTypeOf<Promise<PlainResponse> | undefined>();
  expectTypeOf(lameduck.fetchFinished).returns.toEqualTypeOf<boolean>();
});
