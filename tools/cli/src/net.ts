import { createConnection } from 'node:net';
import type { LocalPorts } from './pipeline/local.js';

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The ports of `ports` that accept connections. */
export async function openPorts(ports: LocalPorts | number[]): Promise<number[]> {
  const list = Array.isArray(ports) ? ports : Object.values(ports);
  const open = await Promise.all(list.map((p) => portOpen(p)));
  return list.filter((_, i) => open[i]);
}

/** Whether `url` answers 200 within a second. */
export async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
