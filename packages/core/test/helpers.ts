/** Core's own test helpers: the TLS fixture key pair, and the fixture server run as a child process. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, type Child } from '@lameduck/test-utils';

export const TLS = {
  key: readFileSync(join(__dirname, 'fixtures', 'key.pem')),
  cert: readFileSync(join(__dirname, 'fixtures', 'cert.pem')),
};

const FIXTURES = join(__dirname, 'fixtures');

/** Runs `fixtures/<name>.ts` from the TypeScript sources (no build), with `env` added. */
export function spawnFixture(name: string, env: Record<string, string> = {}): Child {
  return spawnChild(['--conditions=@lameduck/source', '--import', 'tsx', join(FIXTURES, `${name}.ts`)], { env });
}

/** The `listening` event of a fixture: its ports. */
export async function ports(child: Child): Promise<number[]> {
  const line = await child.event((event) => event.event === 'listening');
  return line.ports as number[];
}
