/**
 * The deploy recipes in the docs (README.md, docs/) are the files in deploy/ and examples/cluster, verbatim; the Docker and Kubernetes
 * ones (no Docker or cluster in CI) are run as far as a test can: the image's CMD under tini (what Docker's
 * --init runs) with the Deployment's env, probed and stopped the way the kubelet does.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { parse } from 'yaml';
import { documentationPages, request, spawnChild, type Child } from '@lameduck/test-utils';

const ROOT = join(__dirname, '..', '..', '..');
const DOCS = documentationPages(ROOT)
  .map((page) => page.text)
  .join('\n');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');
const children: Child[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.kill('SIGKILL');
    await child.exited;
  }
});

test.each([
  'deploy/docker/Dockerfile',
  'deploy/kubernetes/deployment.yaml',
  'deploy/pm2/ecosystem.config.js',
  'deploy/systemd/lameduck-example.socket',
  'deploy/systemd/lameduck-example.service',
  'examples/cluster/src/primary.ts',
])('the docs show %s as it is', (file) => {
  const blocks = [...DOCS.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map(([, body]) => body);
  expect(blocks).toContain(read(file));
});

interface Container {
  env: { name: string; value: string }[];
  readinessProbe: { httpGet: { path: string; port: number } };
  livenessProbe: { httpGet: { path: string; port: number } };
  lifecycle?: { preStop?: { sleep?: { seconds: number } } };
}

test('Kubernetes: the grace period covers preStop + timeout; SIGTERM as the kubelet sends it drains and exits 0 in time', async () => {
  const manifest = parse(read('deploy/kubernetes/deployment.yaml')) as {
    spec: { template: { spec: { terminationGracePeriodSeconds: number; containers: Container[] } } };
  };
  const pod = manifest.spec.template.spec;
  const container = pod.containers[0]!;
  const env = Object.fromEntries(container.env.map(({ name, value }) => [name, value]));
  const timeout = Number(env.SHUTDOWN_TIMEOUT_MS);
  const preStop = (container.lifecycle?.preStop?.sleep?.seconds ?? 0) * 1000;
  expect(preStop + timeout + 5_000).toBeLessThanOrEqual(pod.terminationGracePeriodSeconds * 1000);
  expect(Number(env.READINESS_DELAY_MS)).toBeLessThan(timeout);
  expect(container.readinessProbe.httpGet.port).toBe(Number(env.PORT));

  // The image: WORKDIR and CMD from the Dockerfile, the exec form, run under tini as `docker run --init` does.
  const dockerfile = read('deploy/docker/Dockerfile');
  const workdir = [...dockerfile.matchAll(/^WORKDIR (.+)$/gm)].at(-1)![1]!.replace(/^\/app/, ROOT);
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  expect(cmd[0]).toBe('node');
  // READINESS_DELAY_MS shortened so the test takes 1 s, not 5.
  const app = spawnChild(['-s', '--', process.execPath, ...cmd.slice(1)], {
    command: 'tini',
    cwd: workdir,
    env: { ...env, PORT: '0', HOST: '127.0.0.1', READINESS_DELAY_MS: '1000' },
  });
  children.push(app);
  const port = (await app.event((line) => line.event === 'listening')).port as number;
  const probe = new http.Agent({ keepAlive: false });
  const get = (path: string) => request(port, { path, agent: probe });
  expect((await get(container.readinessProbe.httpGet.path)).status).toBe(200);
  expect((await get(container.livenessProbe.httpGet.path)).status).toBe(200);

  const started = performance.now();
  app.kill('SIGTERM'); // to tini, PID 1 in the container: it forwards it to node
  await app.log((line) => line.msg === 'shutdown started: readiness fails now');
  expect((await get(container.readinessProbe.httpGet.path)).status).toBe(503);
  expect((await get(container.livenessProbe.httpGet.path)).status).toBe(200);
  expect((await get('/')).status).toBe(200); // still served during the lame-duck phase
  expect(await app.exited).toEqual({ code: 0, signal: null });
  expect(performance.now() - started).toBeLessThan(pod.terminationGracePeriodSeconds * 1000);
  probe.destroy();
});
