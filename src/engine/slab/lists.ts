/** The slab storage's one grow helper: a copy of `a` with room for `cap` entries (new entries zero). */
export function grow<T extends Int32Array | Uint32Array | Uint8Array>(a: T, cap: number): T {
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/**
 * Intrusive circular doubly linked lists over integer node ids held in typed arrays
 * (docs/ARCHITECTURE.md §3): O(1) push, remove and splice, oldest-first iteration, no JS object per
 * node. A list is named by its sentinel node.
 *
 * Memory: two Int32 per node and nothing else. A node does not record which list it is on (the
 * caller knows: it derives the list from the object's owner), and a list's length lives in the
 * `len` array at the sentinel's index — a sentinel is a reserved slot that never holds an object,
 * so the owner of `len` (the slab system's per-slot `objNext`) has that entry free.
 */
export class IntrusiveLists {
  prev: Int32Array;
  next: Int32Array;
  /** Length per sentinel (an array shared with the slot owner; see the class comment). */
  len: Int32Array;

  constructor(capacity: number, len: Int32Array = new Int32Array(capacity)) {
    this.prev = new Int32Array(capacity);
    this.next = new Int32Array(capacity);
    this.len = len;
  }

  /** Resizes the link arrays; the slot owner re-points `len` at its own resized array. */
  grow(capacity: number, len: Int32Array): void {
    this.prev = grow(this.prev, capacity);
    this.next = grow(this.next, capacity);
    this.len = len;
  }

  initList(s: number): void {
    this.prev[s] = s;
    this.next[s] = s;
    this.len[s] = 0;
  }

  length(s: number): number {
    return this.len[s];
  }

  pushBack(s: number, node: number): void {
    const tail = this.prev[s];
    this.next[tail] = node;
    this.prev[node] = tail;
    this.next[node] = s;
    this.prev[s] = node;
    this.len[s]++;
  }

  /** Unlinks `node` from list `s` (the list it is on). */
  remove(node: number, s: number): void {
    const p = this.prev[node];
    const n = this.next[node];
    this.next[p] = n;
    this.prev[n] = p;
    this.len[s]--;
    this.prev[node] = -1;
    this.next[node] = -1;
  }

  /** Moves every node of `src` to the tail of `dst`; `src` is left empty. */
  splice(dst: number, src: number): void {
    if (src === dst) return;
    const n = this.len[src];
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
    this.len[dst] += n;
    this.len[src] = 0;
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
