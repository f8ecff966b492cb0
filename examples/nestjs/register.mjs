/**
 * `--import ./register.mjs`: compiles TypeScript with the TypeScript compiler, as `tsc` (and `nest
 * build`) do, because Nest's dependency injection reads the constructor types that only it emits
 * (`emitDecoratorMetadata`); tsx's esbuild does not. tsx still resolves `./x.js` to `./x.ts`.
 */
import { register } from 'node:module';

register('./compile-hook.mjs', import.meta.url);
