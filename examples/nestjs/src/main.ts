/** Example: a NestJS 11 server (platform-express) with graceful shutdown by @lameduck/nestjs, following the examples' contract. */
import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { notifyReady } from '@lameduck/core';
import { announce, settings } from '@lameduck/example-contract';
import { setupLameduck } from '@lameduck/nestjs';
import { AppModule, Greeting } from './app.module.js';

// Nest's own lines on stdout would sit beside the contract's `listening` line: warnings and errors only.
const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
const lameduck = setupLameduck(app);
// A socket systemd passed in ({ fd }), which platform-express hands to server.listen() as it is; or the port and host.
if ('fd' in settings.listen) await app.listen(settings.listen as unknown as number);
else await app.listen(settings.listen.port, settings.listen.host);
announce(((app.getHttpServer() as Server).address() as AddressInfo).port, app.get(Greeting).framework);
void notifyReady(lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
