import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";

export const ACK_FILE = "memcg-sim.ack";
const ACK_FORMAT = "memcg-sim-ack/1";

/** What the marker says was acknowledged of one instance: its identity (creation), journal generation (resets) and last seq. */
export interface Acked {
  createdSeq: number;
  epoch: number;
  seq: number;
}

/**
 * The acknowledgement marker: a small file beside the database (`memcg-sim.ack`) that records, per
 * instance, the newest state whose journal rows were committed — so a database that lost rows
 * after they were acknowledged (a deleted tail, a file replaced by an older copy or by an empty
 * one) is caught at restore instead of passing as a shorter history.
 *
 * It is written after each commit, never before, so it never names a row the database does not
 * hold: off the event loop (open, write, fdatasync, rename — atomic), one write at a time, the
 * newest state coalesced into the next write. It may therefore lag the database by the writes in
 * flight (one fdatasync, ~0.35 ms here); restore accepts a database ahead of the marker, and a
 * deleted instance leaves a tombstone in the database so the marker's older entry is explained.
 */
export class AckMarker {
  readonly file: string;
  private readonly acked = new Map<string, Acked>();
  private dirty = false;
  private writing: Promise<void> | null = null;
  private closed = false;
  private serial = 0;

  constructor(
    readonly dir: string,
    private readonly onError: (err: unknown) => void,
  ) {
    this.file = join(dir, ACK_FILE);
  }

  /**
   * The marker as last written, or null when there is none (a data directory from before the
   * marker, or a new one). A marker that is not what this server writes is an error naming the file.
   */
  static read(dir: string): Map<string, Acked> | null {
    const file = join(dir, ACK_FILE);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new Error(`${file}: not a memcg-sim acknowledgement marker (${(err as Error).message})`);
    }
    const d = doc as { format?: unknown; instances?: unknown };
    if (d === null || typeof d !== "object" || d.format !== ACK_FORMAT || typeof d.instances !== "object")
      throw new Error(
        `${file}: not a memcg-sim acknowledgement marker (format ${JSON.stringify(d?.format)})`,
      );
    const out = new Map<string, Acked>();
    for (const [name, v] of Object.entries(d.instances as Record<string, unknown>)) {
      const a = v as Partial<Acked>;
      if (![a.createdSeq, a.epoch, a.seq].every((x) => Number.isSafeInteger(x) && (x as number) >= 0))
        throw new Error(`${file}: instance ${JSON.stringify(name)} has no valid createdSeq/epoch/seq`);
      out.set(name, { createdSeq: a.createdSeq as number, epoch: a.epoch as number, seq: a.seq as number });
    }
    return out;
  }

  /** Starts from what restore loaded (so instances not loaded keep their entries). */
  seed(entries: Map<string, Acked>): void {
    for (const [k, v] of entries) this.acked.set(k, { ...v });
  }

  set(name: string, a: Acked): void {
    this.acked.set(name, a);
    this.dirty = true;
  }

  remove(name: string): void {
    if (this.acked.delete(name)) this.dirty = true;
  }

  /** After a commit: writes the newest state off the event loop (coalesced, one write at a time). */
  schedule(): void {
    if (!this.dirty || this.closed || this.writing !== null) return;
    this.writing = this.loop().finally(() => {
      this.writing = null;
    });
  }

  private body(): string {
    const instances: Record<string, Acked> = {};
    for (const [k, v] of this.acked) instances[k] = v;
    return `${JSON.stringify({ format: ACK_FORMAT, instances })}\n`;
  }

  private async loop(): Promise<void> {
    while (this.dirty && !this.closed) {
      this.dirty = false;
      const tmp = `${this.file}.${++this.serial}.tmp`;
      try {
        const fh = await open(tmp, "w");
        try {
          await fh.writeFile(this.body());
          await fh.datasync();
        } finally {
          await fh.close();
        }
        // a synchronous final write (close) must not be overtaken by an older asynchronous one
        if (this.closed) {
          // close() wrote the final marker itself: this older one is dropped, its file too (a
          // temporary file left behind would also keep the directory from being removed)
          rmSync(tmp, { force: true });
          return;
        }
        renameSync(tmp, this.file);
      } catch (err) {
        // after close() a write may fail because the directory is gone: nothing left to report
        if (this.closed) return;
        this.dirty = true;
        this.onError(err);
        return;
      }
    }
  }

  /** Writes the current state now, synchronously (clean shutdown, and before a delete is committed). */
  writeSync(): void {
    const tmp = `${this.file}.sync.tmp`;
    const fd = openSync(tmp, "w");
    try {
      writeSync(fd, this.body());
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.dirty = false;
  }

  /** Final synchronous write; later asynchronous writes are dropped. */
  close(): void {
    this.closed = true;
    this.writeSync();
  }

  /** Resolves when no write is in flight (tests). */
  async settled(): Promise<void> {
    while (this.writing !== null) await this.writing;
  }
}
