/** A record that cannot become a row. Not retriable: consuming it again fails the same way. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  readonly retriable = false;
  constructor(readonly topic: string, readonly partition: number, readonly offset: number, readonly reason: string) {
    super(`record ${topic}/${partition}@${offset} cannot be ingested: ${reason} (fix the record, or set kafka.error.policy)`);
  }
}
