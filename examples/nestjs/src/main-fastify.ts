/** Example: the same NestJS 11 application on platform-fastify, with graceful shutdown by @lameduck/nestjs, following the examples' contract. */
import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { notifyReady } from '@lameduck/core';
import { announce, settings } from '@lameduck/example-contract';
import { setupLameduck } from '@lameduck/nestjs';
import { AppModule, Greeting } from './app.module.js';

// Nest's own lines on stdout would sit beside the contract's `listening` line: warnings and errors only.
const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
  logger: ['error', 'warn'],
});
const lameduck = setupLameduck(app);
// Fastify's listen options: the socket systemd passed in ({ fd }), or the port; host with fd too, since
// Fastify otherwise defaults it to localhost and binds a second socket for ::1.
await app.listen({ host: settings.host, ...settings.listen });
announce((app.getHttpServer().address() as AddressInfo).port, app.get(Greeting).framework);
void notifyReady(lameduck); // tells PM2 (wait_ready) or @lameduck/cluster's primary, when there is one
