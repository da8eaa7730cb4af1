import type { Registry } from "../registry.js";

/**
 * Per-instance ordering across event-loop turns. A request to an instance that arrives while an
 * earlier request to it is still running (a batch between two of its slices) waits until that one
 * is done; requests to other instances never wait. With nothing running on the instance, work starts
 * at once, in the caller's turn, exactly as without the queue.
 *
 * One queue per Registry (a WeakMap), so the REST and gRPC services of one server share it even
 * when each transport made its own Service.
 */
export class InstanceQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves when every piece of work queued on `name` so far is done; undefined when none is. */
  idle(name: string): Promise<void> | undefined {
    return this.tails.get(name);
  }

  /** Instances with work running or waiting (for tests and metrics). */
  get busyCount(): number {
    return this.tails.size;
  }

  /**
   * Runs `work` once every earlier piece of work on `name` is done: at once (synchronously, up to
   * its first await) when there is none. The instance stays held until `work`'s promise settles.
   */
  run<T>(name: string, work: () => T | Promise<T>): Promise<T> {
    const before = this.tails.get(name);
    let result: Promise<T>;
    if (before === undefined) {
      try {
        result = Promise.resolve(work());
      } catch (err) {
        return Promise.reject(err);
      }
    } else result = before.then(() => work());
    const tail = result.then(
      () => {},
      () => {},
    );
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    return result;
  }
}

const queues = new WeakMap<Registry, InstanceQueue>();

/** The queue of `registry`'s instances (made on first use). */
export function instanceQueueOf(registry: Registry): InstanceQueue {
  let q = queues.get(registry);
  if (q === undefined) {
    q = new InstanceQueue();
    queues.set(registry, q);
  }
  return q;
}
