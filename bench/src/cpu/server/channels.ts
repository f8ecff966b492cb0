/**
 * Keeps each variant's diagnostics_channel subscriptions live only while that variant serves: a
 * subscription is process-wide, so one variant's subscriber would otherwise run on every variant's requests.
 * Import this module before any library, so that it sees their subscribe() calls.
 */
import dc from 'node:diagnostics_channel';
import { syncBuiltinESMExports } from 'node:module';

type Subscriber = (message: unknown, name: string | symbol) => void;

interface Subscription {
  owner: string | undefined;
  name: string | symbol;
  subscriber: Subscriber;
  live: boolean;
}

/** Node's HTTP and net channels: while a variant serves, only its own subscriptions may be live on them. */
const GUARDED = [
  'http.server.request.start',
  'http.server.response.created',
  'http.server.response.finish',
  'http.client.request.created',
  'http.client.request.start',
  'http.client.request.error',
  'http.client.response.finish',
  'net.server.socket',
  'net.client.socket',
];

const subscribe = dc.subscribe.bind(dc);
const unsubscribe = dc.unsubscribe.bind(dc);
const subscriptions: Subscription[] = [];
let owner: string | undefined;

dc.subscribe = (name, subscriber) => {
  subscriptions.push({ owner, name, subscriber, live: true });
  subscribe(name, subscriber);
};
dc.unsubscribe = (name, subscriber) => {
  const index = subscriptions.findIndex((entry) => entry.name === name && entry.subscriber === subscriber);
  if (index >= 0) subscriptions.splice(index, 1);
  return unsubscribe(name, subscriber);
};
// ESM named imports of builtins (`import { subscribe } from 'node:diagnostics_channel'`) see the patch only after this.
syncBuiltinESMExports();

/**
 * Makes `variant` the owner of subscriptions from now on, and the only one whose subscriptions are live
 * (`undefined`: none). Returns the guarded channels that have subscribers it does not own: a library
 * that subscribed some other way than `diagnostics_channel.subscribe()`, whose cost all variants pay.
 */
export function activate(variant: string | undefined): string[] {
  for (const entry of subscriptions) {
    const live = entry.owner === variant;
    if (live === entry.live) continue;
    if (live) subscribe(entry.name, entry.subscriber);
    else unsubscribe(entry.name, entry.subscriber);
    entry.live = live;
  }
  owner = variant;
  return GUARDED.filter(
    (name) => dc.hasSubscribers(name) && !subscriptions.some((entry) => entry.owner === variant && entry.name === name),
  );
}
