/** The injection tokens of @lameduck/nestjs and the decorator that injects the manager. */
import { Inject } from '@nestjs/common';

/**
 * The manager's injection token. A string, not a symbol: the ESM and CommonJS builds loaded side by
 * side (a dual-package hazard) still name the same provider.
 */
export const LAMEDUCK = '@lameduck/nestjs:Lameduck';

/** The token of the options `forRoot()` was given or `forRootAsync()`'s factory returned. */
export const LAMEDUCK_OPTIONS = '@lameduck/nestjs:LameduckModuleOptions';

/** Internal: whether `setupLameduck()` has connected this application, for the module's warning. */
export const LAMEDUCK_SETUP = '@lameduck/nestjs:setup';

/** What `LAMEDUCK_SETUP` holds, one per application. */
export interface SetupState {
  done: boolean;
}

/**
 * Injects the lameduck manager (the `LAMEDUCK` token).
 * @example
 * constructor(@InjectLameduck() private readonly lameduck: Lameduck) {}
 */
export function InjectLameduck(): PropertyDecorator & ParameterDecorator {
  return Inject(LAMEDUCK);
}
