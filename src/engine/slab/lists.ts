/**
 * Intrusive circular doubly linked lists over integer node ids held in typed arrays
 * (ARCHITECTURE.md §3): O(1) push, remove and splice, oldest-first iteration, no JS object per
 * node. A list is named by its sentinel node. Splicing a list into another forwards the source
 * list's name to the destination, so nodes added before the splice still decrement the right
 * length when removed.
 */
export class IntrusiveLists {
  prev: Int32Array;
  next: Int32Array;
  /** The list (sentinel) each node was pushed onto; follow `fwd` to find where it lives now. */
  owner: Int32Array;
  private readonly len = new Map<number, number>();
  private readonly fwd = new Map<number, number>();

  constructor(capacity: number) {
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.owner = new Int32Array(capacity);
  }

  grow(capacity: number): void {
    const g = (a: Int32Array) => {
      const b = new Int32Array(capacity);
      b.set(a);
      return b;
    };
    this.prev = g(this.prev);
    this.next = g(this.next);
    this.owner = g(this.owner);
  }

  initList(s: number): void {
    this.prev[s] = s;
    this.next[s] = s;
    this.owner[s] = s;
    this.len.set(s, 0);
    this.fwd.delete(s);
  }

  /** The list a forwarded name now lives in. */
  resolve(s: number): number {
    let f = this.fwd.get(s);
    while (f !== undefined) {
      s = f;
      f = this.fwd.get(s);
    }
    return s;
  }

  length(s: number): number {
    return this.len.get(s) ?? 0;
  }

  pushBack(s: number, node: number): void {
    const tail = this.prev[s];
    this.next[tail] = node;
    this.prev[node] = tail;
    this.next[node] = s;
    this.prev[s] = node;
    this.owner[node] = s;
    this.len.set(s, (this.len.get(s) ?? 0) + 1);
  }

  remove(node: number): void {
    const p = this.prev[node];
    const n = this.next[node];
    this.next[p] = n;
    this.prev[n] = p;
    const s = this.resolve(this.owner[node]);
    this.len.set(s, (this.len.get(s) ?? 1) - 1);
    this.prev[node] = -1;
    this.next[node] = -1;
  }

  /** Moves every node of `src` to the tail of `dst`; `src`'s name forwards to `dst` afterwards. */
  splice(dst: number, src: number): void {
    if (src === dst) return;
    const n = this.len.get(src) ?? 0;
    if (n > 0) {
      const first = this.next[src];
      const last = this.prev[src];
      const tail = this.prev[dst];
      this.next[tail] = first;
      this.prev[first] = tail;
      this.next[last] = dst;
      this.prev[dst] = last;
    }
    this.next[src] = src;
    this.prev[src] = src;
    this.len.set(dst, (this.len.get(dst) ?? 0) + n);
    this.len.delete(src);
    this.fwd.set(src, dst);
  }

  first(s: number): number {
    const n = this.next[s];
    return n === s ? -1 : n;
  }

  last(s: number): number {
    const p = this.prev[s];
    return p === s ? -1 : p;
  }

  isLinked(node: number): boolean {
    return this.next[node] !== -1;
  }
}
