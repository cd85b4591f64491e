import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr (so `--json` output on stdout stays clean). Without a TTY it prints a
 * line every 10 %.
 */
export function progressBar(label: string, total: number, quiet = false): Progress {
  if (quiet || total <= 0) return { update: () => {}, stop: () => {} };
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        format: `${label.padEnd(12)} [{bar}] {percentage}% | {value}/{total} | {duration_formatted}`,
        stream: process.stderr,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return { update: (d) => bar.update(d), stop: () => bar.stop() };
  }
  let lastDecile = -1;
  const started = Date.now();
  return {
    update(done) {
      const decile = Math.floor((done / total) * 10);
      if (decile > lastDecile) {
        lastDecile = decile;
        process.stderr.write(
          `${label}: ${done}/${total} (${decile * 10}%) ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
        );
      }
    },
    stop() {},
  };
}

/** Writes a status line to stderr. */
export function say(message: string): void {
  process.stderr.write(`${message}\n`);
}
