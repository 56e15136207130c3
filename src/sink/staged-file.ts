// One output file of a batch growing in the table's staging directory, a piece (encoded row groups)
// at a time, so that a batch's bytes wait on disk rather than in memory. Pieces are written strictly
// in order; the file is made durable when its batch commits (commit.ts, step 1).
import type { FileSystem, PieceWriter } from './fs.ts';

export class StagedFile {
  /** The handle, once open: kept apart from the write chain, so that a failed write still lets it be closed. */
  private readonly opened: Promise<PieceWriter>;
  private chain: Promise<PieceWriter>;

  constructor(readonly hiddenPath: string, fs: Pick<FileSystem, 'openDurably'>) {
    this.opened = fs.openDurably(hiddenPath); // makes the staging directory if it is missing
    this.opened.catch(() => undefined); // the failure reaches whoever writes or closes next
    this.chain = this.opened;
  }

  /** Appends after everything written before; resolves when these pieces are written. */
  write(pieces: readonly Uint8Array[]): Promise<void> {
    if (pieces.length > 0) {
      this.chain = this.chain.then(async (file) => {
        for (const piece of pieces) await file.append(piece);
        return file;
      });
      this.chain.catch(() => undefined);
    }
    return this.chain.then(() => undefined);
  }

  /** The last pieces, then fsync of the file and its directory. A failed write closes the handle before it throws. */
  async close(last: readonly Uint8Array[]): Promise<void> {
    try {
      await this.write(last);
    } catch (error) {
      this.abandon();
      throw error;
    }
    await (await this.chain).close();
  }

  /** The batch will not commit: close the handle, even after a failed write; recovery removes the file. */
  abandon(): void {
    void this.opened.then((file) => file.abandon(), () => undefined);
  }
}
