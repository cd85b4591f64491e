import { spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { silentLogger } from './logger.js';
import { onShutdown } from './shutdown.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');
const source = (file: string) => JSON.stringify(pathToFileURL(resolve(here, file)).href);

/** How the child's `stop` behaves. */
type Stop = 'resolves' | 'hangs' | 'hangs-idle';

const STOPS: Record<Stop, string> = {
  resolves: 'async () => { await new Promise((r) => setTimeout(r, 20)); }',
  // a produce stuck on a live socket: something keeps the event loop busy, nothing settles stop
  hangs: '() => { setInterval(() => {}, 1000); return new Promise(() => {}); }',
  // nothing keeps the event loop busy (the deadline timer is unref'd, so it does not either), nothing settles stop
  'hangs-idle': '() => new Promise(() => {})',
};

/**
 * A child Node process that installs `onShutdown` (the TypeScript sources, through tsx) with the
 * given `stop`, keeps running until signalled and prints "ready" once the handlers are installed.
 */
function childScript(stop: Stop, deadlineMs: number): string {
  return `
    import { createLogger } from ${source('logger.ts')};
    import { onShutdown } from ${source('shutdown.ts')};
    const keepAlive = setInterval(() => {}, 1000);
    const stop = ${STOPS[stop]};
    onShutdown(createLogger('shutdown-test'), async () => { clearInterval(keepAlive); await stop(); }, { deadlineMs: ${deadlineMs} });
    process.stdout.write('ready\\n');
  `;
}

interface Exit {
  code: number | null;
  output: string;
  elapsedMs: number;
}

/** Starts the child, sends it SIGTERM once it is ready, and resolves when it exits (SIGKILL after 4 s, below the test timeout). */
function runChild(stop: Stop, deadlineMs: number): Promise<Exit> {
  const args = ['--import', 'tsx', '--input-type=module', '-e', childScript(stop, deadlineMs)];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let signalledAt = 0;
  const kill = setTimeout(() => child.kill('SIGKILL'), 4000);
  const onData = (d: Buffer) => {
    output += d.toString();
    if (signalledAt === 0 && output.includes('ready\n')) {
      signalledAt = Date.now();
      child.kill('SIGTERM');
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  return new Promise((res) =>
    child.once('close', (code) => {
      clearTimeout(kill);
      res({ code, output, elapsedMs: signalledAt ? Date.now() - signalledAt : Number.NaN });
    }),
  );
}

describe.concurrent('onShutdown (real child processes)', () => {
  it('exits 1 and logs the deadline when stop never settles', async () => {
    const exit = await runChild('hangs', 300);
    expect(exit.output).toContain('shutting down');
    expect(exit.code, exit.output).toBe(1);
    expect(exit.output).toContain('shutdown deadline exceeded; exiting without a clean stop');
    expect(exit.output).toContain('"deadlineMs":300');
    expect(exit.elapsedMs).toBeGreaterThanOrEqual(250);
    expect(exit.elapsedMs).toBeLessThan(3000);
  });

  it('exits 0 when stop resolves before the deadline', async () => {
    const exit = await runChild('resolves', 300);
    expect(exit.output).toContain('shutting down');
    expect(exit.code, exit.output).toBe(0);
    expect(exit.output).toContain('stopped cleanly');
    expect(exit.output).not.toContain('deadline exceeded');
  });

  it('does not report a clean stop when the event loop empties before stop settles', async () => {
    const exit = await runChild('hangs-idle', 60_000);
    expect(exit.output).toContain('shutting down');
    expect(exit.code, exit.output).toBe(1);
    expect(exit.output).not.toContain('stopped cleanly');
  });
});

describe('onShutdown options', () => {
  it('rejects a deadline no timer can honour', () => {
    for (const deadlineMs of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      expect(() => onShutdown(silentLogger(), async () => undefined, { deadlineMs })).toThrow(RangeError);
    }
  });
});
