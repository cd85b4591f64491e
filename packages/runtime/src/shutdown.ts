import type { Logger } from 'pino';

/** The longest shutdown deadline, ms: the largest delay `setTimeout` accepts (a longer one fires at once). */
export const MAX_SHUTDOWN_DEADLINE_MS = 2_147_483_647;

/** How long a graceful shutdown may take. */
export interface ShutdownOptions {
  /**
   * Longest wait for `stop` to settle after the first signal, ms; past it the process logs why and
   * exits 1. Keep it below Kubernetes' `terminationGracePeriodSeconds`.
   */
  deadlineMs: number;
}

/**
 * Runs `stop` once on SIGTERM or SIGINT (finish in-flight work, commit, close), then exits 0, or 1
 * if `stop` fails. A second signal exits 1 at once.
 *
 * `stop` has `options.deadlineMs` to settle; past it the process logs the deadline and exits 1
 * without a clean stop. A stalled dependency (a Kafka broker that never acknowledges a produce) must
 * not keep a pod in Terminating forever: with the deadline below Kubernetes'
 * `terminationGracePeriodSeconds`, the process exits on its own and logs why, instead of being
 * SIGKILLed silently. While stopping, the exit code is 1, so a process whose event loop empties
 * before `stop` settles (nothing left that could settle it) does not report a clean stop either.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, options: ShutdownOptions): void {
  checkDeadline(options.deadlineMs);
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.exitCode = 1;
    logger.info({ signal, deadlineMs: options.deadlineMs }, 'shutting down');
    const deadline = exitAtDeadline(logger, options.deadlineMs);
    stop()
      .then(() => {
        clearTimeout(deadline);
        logger.info('stopped cleanly');
        process.exit(0);
      })
      .catch((err: unknown) => {
        clearTimeout(deadline);
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}

/** Throws at install time for a deadline no timer can honour (it would otherwise exit at once or never). */
function checkDeadline(deadlineMs: number): void {
  if (!Number.isInteger(deadlineMs) || deadlineMs <= 0 || deadlineMs > MAX_SHUTDOWN_DEADLINE_MS) {
    throw new RangeError(
      `shutdown deadlineMs must be an integer in 1..${MAX_SHUTDOWN_DEADLINE_MS} (got ${deadlineMs})`,
    );
  }
}

/**
 * Exits 1 after `deadlineMs`, logging why. The timer is unref'd: it never keeps the process alive by
 * itself; the caller clears it once `stop` settles.
 */
function exitAtDeadline(logger: Logger, deadlineMs: number): NodeJS.Timeout {
  const timer = setTimeout(() => {
    logger.error({ deadlineMs }, 'shutdown deadline exceeded; exiting without a clean stop');
    process.exit(1);
  }, deadlineMs);
  timer.unref();
  return timer;
}
