/** What a rolling restart needs from a load balancer: route to a new instance, let go of an old one. */

/** A running load balancer in front of the instances, on 127.0.0.1. */
export interface Balancer {
  /** A short name for reports: `haproxy fast`, `nginx`. */
  readonly name: string;
  /** The port clients connect to. */
  readonly port: number;
  /** Routes to the instance on `port` from now on; resolves once it can get traffic. */
  add(port: number): Promise<void>;
  /** Before `oldPort` is signalled, its replacement on `newPort` already added: anything to do first. */
  beforeStop(oldPort: number): Promise<void>;
  /** After the instance on `oldPort` has exited: resolves once the balancer no longer routes to it. */
  afterStop(oldPort: number): Promise<void>;
  /** How long the instances should have served before the first restart (to be probed a few times). */
  readonly warmUp: number;
  /** Requests the balancer answered with something other than 200, by status and cause, from its log. */
  failures(): Record<string, number>;
  stop(): Promise<void>;
}
