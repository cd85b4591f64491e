import { parseArgs } from 'node:util';
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';

type Spec = Record<
  string,
  { type: 'string' | 'boolean'; default?: string | boolean | string[]; short?: string; multiple?: boolean }
>;

/** Parses a command's options; unknown options and bad values are errors naming the option. */
export function parseOptions<S extends Spec>(
  command: string,
  args: string[],
  spec: S,
): ReturnType<typeof parseArgs<{ args: string[]; options: S; strict: true; allowPositionals: false }>>['values'] {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new PersonaStreamError(ErrorCode.InvalidArgument, `${command}: ${(e as Error).message}`);
  }
}

/** A positive integer option, with a clear error. */
export function intOption(
  command: string,
  name: string,
  value: string | boolean | undefined,
  fallback: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 0) {
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `${command}: --${name} must be a whole number, got "${value}"`,
      name,
    );
  }
  return n;
}

/** One of the allowed words, with a clear error. */
export function choiceOption<T extends string>(
  command: string,
  name: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new PersonaStreamError(
    ErrorCode.InvalidArgument,
    `${command}: --${name} must be one of ${allowed.join(', ')}, got "${String(value)}"`,
    name,
  );
}
