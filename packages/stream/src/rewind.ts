/**
 * A batch handler rejects with this to have its partition consumed again from `offset` (a decimal
 * string, at or before the batch's first record) instead of from the batch's first record: a
 * service that finds its durable state behind the group's committed offset (state lost after the
 * commit) replays the records its state is missing. Nothing of the batch is committed.
 */
export class StreamRewind extends Error {
  override readonly name = 'StreamRewind';
  constructor(
    readonly offset: string,
    message: string,
  ) {
    super(message);
  }
}

/** The offset a failed batch's partition resumes from: a rewind's, or the batch's first record. */
export function resumeOffset(err: unknown, firstOffset: string): string {
  return err instanceof StreamRewind ? err.offset : firstOffset;
}
