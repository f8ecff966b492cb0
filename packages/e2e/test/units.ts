/** Reads the systemd unit files of deploy/systemd, so the test runs what they say. */
import { readFileSync } from 'node:fs';

/** Every `Key=value` of a unit file, by key (repeated keys, like Environment=, keep every value). */
export function readUnit(file: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const at = line.indexOf('=');
    const key = line.slice(0, at);
    keys.set(key, [...(keys.get(key) ?? []), line.slice(at + 1)]);
  }
  return keys;
}

/** The one value of `key`; throws when it is missing or repeated. */
export function single(unit: Map<string, string[]>, key: string): string {
  const values = unit.get(key) ?? [];
  if (values.length !== 1) throw new Error(`expected one ${key}=, found ${values.length}`);
  return values[0]!;
}
