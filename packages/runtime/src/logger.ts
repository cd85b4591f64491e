import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** JSON logger for a service. Secrets are redacted wherever they appear under these keys. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: { paths: ['*.token', '*.apiKey', '*.password', 'authorization', '*.authorization'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that writes nothing (embedded mode and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
