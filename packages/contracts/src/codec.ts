import { type DescMessage, type MessageShape, fromBinary, toBinary } from '@bufbuild/protobuf';
import { EndOfRunSchema, type EndOfRun } from './gen/personastream/v1/events_pb.js';
import { create } from '@bufbuild/protobuf';

/** Encodes a message to bytes. */
export function encode<D extends DescMessage>(schema: D, message: MessageShape<D>): Uint8Array {
  return toBinary(schema, message);
}

/** Decodes bytes; unknown fields are kept (forward compatible). */
export function decode<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  return fromBinary(schema, bytes);
}

/** Builds an end-of-run marker. */
export function endOfRun(init: Omit<Partial<EndOfRun>, '$typeName'> & { runId: string; partition: number; totalPartitions: number }): EndOfRun {
  return create(EndOfRunSchema, { producedTimeMs: Date.now(), ...init });
}
