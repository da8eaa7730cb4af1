/** Event types of docs/API.md §8. */
export type EventType =
  | "charge_failed"
  | "max"
  | "high"
  | "oom"
  | "oom_kill"
  | "reclaim"
  | "cgroup_created"
  | "cgroup_removed"
  | "cgroup_released"
  | "cache_created"
  | "cache_destroyed";

export interface SimEvent {
  seq: number;
  clockMs: number;
  type: EventType;
  cgroup?: string;
  cache?: string;
  pid?: number;
  [extra: string]: unknown;
}

/**
 * The instance's event log: sequence numbers start at 1 and never repeat. Only the newest
 * `capacity` events are kept (a ring), so a long simulation has bounded memory; a reader that
 * asks for an evicted sequence number resumes at the oldest kept one.
 */
export class EventLog {
  private ring: SimEvent[] = [];
  private start = 0;
  nextSeq = 1;
  /** Listeners are notified synchronously after each append (SSE, gRPC streams). */
  private listeners = new Set<(e: SimEvent) => void>();

  constructor(readonly capacity = 10_000) {}

  emit(clockMs: number, type: EventType, fields: Omit<SimEvent, "seq" | "clockMs" | "type">): void {
    const e: SimEvent = { seq: this.nextSeq++, clockMs, type, ...fields };
    if (this.ring.length < this.capacity) this.ring.push(e);
    else {
      this.ring[this.start] = e;
      this.start = (this.start + 1) % this.capacity;
    }
    for (const l of this.listeners) l(e);
  }

  /** Events with seq ≥ sinceSeq, oldest first, at most `limit`. */
  since(sinceSeq: number, limit = 1000): SimEvent[] {
    const out: SimEvent[] = [];
    const n = this.ring.length;
    for (let i = 0; i < n && out.length < limit; i++) {
      const e = this.ring[(this.start + i) % n];
      if (e.seq >= sinceSeq) out.push(e);
    }
    return out;
  }

  subscribe(fn: (e: SimEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  clear(): void {
    this.ring = [];
    this.start = 0;
    this.nextSeq = 1;
  }
}
