/** The GraphQL service the graphql tests drain (Express 5 and @lameduck/express, Apollo Server 5 for queries, graphql-ws 6 for subscriptions, one HTTP server), and its clients. */
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, type ApolloServerOptions, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import type { Lameduck } from '@lameduck/core';
import { graceful, type GracefulOptions } from '@lameduck/express';
import { deferred, request, type Reply } from '@lameduck/test-utils';
import express from 'express';
import { GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import WebSocket, { WebSocketServer } from 'ws';

/** How the parts are wired, the documented way or as users first try. */
export interface Wiring {
  /** lameduck's options (signals, timeout…). */
  lameduck: GracefulOptions;
  /** Apollo's `stopOnTerminationSignals`: its own SIGTERM handler, which stops Apollo and re-sends the signal. */
  apolloSignals: boolean;
  /** Apollo's `ApolloServerPluginDrainHttpServer({ httpServer })`, as Apollo's Express guide sets it up. */
  drainPlugin: boolean;
  /**
   * Who ends subscriptions: `lameduck` (a closer calls graphql-ws's `dispose()` when the drain starts),
   * `apollo` (the plugin of Apollo's subscription guide calls `dispose()` in `drainServer`), `both`, or `none`.
   */
  subscriptions: 'lameduck' | 'apollo' | 'both' | 'none';
  /** `apollo.stop()` as a lameduck cleanup hook (after the last query was answered). */
  stopInHook: boolean;
  /** Apollo's logger; its console by default. */
  apolloLogger?: ApolloServerOptions<BaseContext>['logger'];
  /** Called when a `slow` query starts; it is answered when `release` resolves. */
  onSlow: (release: (value: string) => void) => void;
}

export interface GraphqlService {
  server: HttpServer;
  lameduck: Lameduck;
  apollo: ApolloServer;
  /** graphql-ws's WebSocketServer. */
  wss: WebSocketServer;
  port: number;
  /** `http://127.0.0.1:<port>/graphql` */
  url: string;
  /** The same, `ws:` */
  wsUrl: string;
}

/** An async iterator that yields `first`, then waits until `return()` (what graphql-ws calls when the subscription ends). */
function quietStream<T>(first: T): AsyncIterableIterator<T> {
  let sent = false;
  let end: (() => void) | undefined;
  const done = { done: true as const, value: undefined };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    next() {
      if (sent) return new Promise((resolve) => (end = () => resolve(done)));
      sent = true;
      return Promise.resolve({ done: false, value: first });
    },
    return() {
      end?.();
      return Promise.resolve(done);
    },
  };
}

function schema(onSlow: Wiring['onSlow']): GraphQLSchema {
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'Query',
      fields: {
        hello: { type: GraphQLString, resolve: () => 'world' },
        slow: { type: GraphQLString, resolve: () => new Promise<string>((release) => onSlow(release)) },
      },
    }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        // A quiet subscription: one event, then nothing until it is ended (by the client, or by the server's close).
        news: {
          type: new GraphQLNonNull(GraphQLString),
          subscribe: () => quietStream({ news: 'first' }),
        },
      },
    }),
  });
}

/** Starts the service on 127.0.0.1, a free port; resolves once it listens. */
export async function startGraphql(wiring: Wiring): Promise<GraphqlService> {
  const app = express();
  const drain = graceful(wiring.lameduck);
  const { lameduck } = drain;
  app.use(drain);
  const server = app.listen(0, '127.0.0.1');
  lameduck.attach(server); // upgrades do not pass through the middleware
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const executable = schema(wiring.onSlow);
  const subscriptions = useServer({ schema: executable }, wss);
  const plugins: ApolloServerPlugin[] = [];
  if (wiring.drainPlugin) plugins.push(ApolloServerPluginDrainHttpServer({ httpServer: server }));
  if (wiring.subscriptions === 'apollo' || wiring.subscriptions === 'both') {
    plugins.push({
      async serverWillStart() {
        return {
          async drainServer() {
            await subscriptions.dispose();
          },
        };
      },
    });
  }
  const apollo = new ApolloServer({
    schema: executable,
    plugins,
    stopOnTerminationSignals: wiring.apolloSignals,
    ...(wiring.apolloLogger ? { logger: wiring.apolloLogger } : {}),
  });
  await apollo.start();
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  if (wiring.subscriptions === 'lameduck' || wiring.subscriptions === 'both') {
    lameduck.addCloser(() => subscriptions.dispose(), { name: 'graphql-ws' });
  }
  if (wiring.stopInHook) lameduck.addHook(() => apollo.stop(), { name: 'apollo' });
  if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    server,
    lameduck,
    apollo,
    wss,
    port,
    url: `http://127.0.0.1:${port}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
  };
}

/** How a client's WebSocket closed. */
export interface Closed {
  code: number;
  reason: string;
}

/** A graphql-ws client (no retries) subscribed to `news`; resolves once the first event arrived. */
export async function subscribe(wsUrl: string): Promise<{ client: Client; closed: Promise<Closed> }> {
  const closed = deferred<Closed>();
  const first = deferred();
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    on: {
      closed: (event) => {
        const { code, reason } = event as Closed;
        closed.resolve({ code, reason });
      },
    },
  });
  client.subscribe<{ news: string }>(
    { query: 'subscription { news }' },
    { next: () => first.resolve(), error: () => undefined, complete: () => undefined },
  );
  await first.promise;
  return { client, closed: closed.promise };
}

/** One GraphQL query over HTTP, on its own connection. */
export function query(port: number, text: string): Promise<Reply> {
  return request(port, {
    path: '/graphql',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: text }),
  });
}
