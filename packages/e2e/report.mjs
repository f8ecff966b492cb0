// Renders the restart tests' results (written by `pnpm e2e` into results/) as E2E.md at the repository root.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const here = import.meta.dirname;
const results = readdirSync(join(here, 'results'))
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => JSON.parse(readFileSync(join(here, 'results', file), 'utf8')));

const kinds = (failures) =>
  Object.entries(failures)
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ') || 'none';
const exits = (tally) =>
  Object.entries(tally ?? {})
    .map(([kind, count]) => `${count} × ${kind}`)
    .join(', ');
const number = (value) => value.toLocaleString('en-US');

const rows = results.flatMap((result) =>
  ['lameduck', 'textbook'].map((variant) => {
    const load = result[variant];
    return `| ${result.engine} | ${result.restart} | ${variant === 'lameduck' ? 'lameduck' : 'textbook `server.close()`'} | ${number(load.sent)} | **${number(load.failed)}** | ${kinds(load.failures)} | ${exits(result.exits?.[variant])} |`;
  }),
);

/** What each kind of failure means: only the kinds this run saw. */
const NOTES = {
  ECONNRESET:
    "- `ECONNRESET`: the server closed a kept-alive connection as the client's next request arrived: `server.close()`\n" +
    '  destroys idle connections at once; lameduck keeps serving through the lame-duck phase with `Connection: close`.',
  timeout:
    '- `timeout`: no answer within 30 s. In an earlier run `ss` showed such connections held by the primary (the PM2\n' +
    '  daemon) with their request unread: our reading is that the primary had handed them to a worker that exited right\n' +
    "  after `server.close()`, before taking them (compare nodejs/node#3551). lameduck's workers stay up while they drain.",
  'status 503':
    "- `status 503`: lameduck's answer (with `Retry-After`) to a request that arrived on an open connection in the\n" +
    "  drain's last stretch.",
};

function notes(results) {
  const seen = new Set(
    results.flatMap((result) => ['lameduck', 'textbook'].flatMap((variant) => Object.keys(result[variant].failures))),
  );
  return [...seen]
    .sort()
    .map((kind) => NOTES[kind] ?? `- \`${kind}\`: not described yet; see packages/e2e/test.`)
    .join('\n');
}

const text = `# Restarts under load: lameduck against the textbook shutdown

Written by \`pnpm e2e\` (the restart tests of \`packages/e2e\`, run by \`pnpm test\` too) on ${new Date().toISOString().slice(0, 10)},
Node ${process.version}, ${process.platform}. Each test runs 16 keep-alive clients (\`GET /\` in a loop, each on its own
kept-alive socket, 127.0.0.1) across two restarts of every process, once with the recipe of the README's "Deploying"
section and once with the textbook shutdown in its place (\`server.close()\` on the signal or message, exit when it
calls back; killed after 5 s where the recipe would wait longer). A failure is any request that did not get a \`200\`:
an error on the socket or another status. The tests assert lameduck's count only; the rest is measured.

| Engine | Restart | Server | Requests | Failed | Failures | Retired processes |
| ------ | ------- | ------ | -------: | -----: | -------- | ----------------- |
${rows.join('\n')}

${notes(results)}
`;
writeFileSync(join(here, '..', '..', 'E2E.md'), text);
console.log(text);
