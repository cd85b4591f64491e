import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { enabledDimensions } from '@personastream/contracts';
import { createRegistry } from '@personastream/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyStats, updateStats } from './core/stats.js';
import { syntheticUsers } from './core/synthetic.js';
import { createOpenAiBackend, loadPromptTemplates } from './openai.js';
import { syntheticBackend } from './testing.js';

interface Seen {
  auth: string | undefined;
  body: {
    model: string;
    messages: Array<{ role: string; content: string }>;
    response_format: { type: string; json_schema: { name: string; strict: boolean; schema: { required: string[] } } };
    temperature: number;
  };
}

const dims = enabledDimensions(true);
const [user] = syntheticUsers({ users: 1, seed: 9, tenant: 't', windowsPerUser: 4 });
if (!user) throw new Error('no user');
const stats = emptyStats();
for (const w of user.windows) updateStats(stats, w);

function validAnswer(): string {
  const tags: Record<string, unknown> = {};
  for (const d of dims) {
    if (d.name === 'interests') tags[d.name] = [{ value: 'cooking', confidence: 0.9 }];
    else if (d.name === 'life_events') tags[d.name] = [{ value: 'new_baby', confidence: 0.7, since: '2026-02-14' }];
    else tags[d.name] = { value: d.values[0], confidence: 0.8 };
  }
  return JSON.stringify({
    tags,
    summary: 'This user is a student. They had a new baby (since 2026-02-14). They cook.',
  });
}

let server: Server;
let url = '';
const seen: Seen[] = [];
/** What the fake endpoint answers next: a list consumed in order, then `fallbackMode`. */
let script: Array<'valid' | 'invalid' | 'error500' | 'slow'> = [];
let fallbackMode: 'valid' | 'invalid' | 'error500' | 'slow' = 'valid';

async function readBody(req: IncomingMessage): Promise<string> {
  let s = '';
  for await (const chunk of req) s += chunk;
  return s;
}

beforeAll(async () => {
  syntheticBackend(); // train the fallback model before any request is timed
  server = createServer((req, res) => {
    void (async () => {
      const body = JSON.parse(await readBody(req));
      seen.push({ auth: req.headers.authorization, body });
      if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      const mode = script.shift() ?? fallbackMode;
      if (mode === 'error500') {
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
        return;
      }
      if (mode === 'slow') await new Promise((r) => setTimeout(r, 300));
      const content =
        mode === 'invalid' ? '{"tags": {"age_band": {"value": "ancient", "confidence": 2}}}' : validAnswer();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: 'x',
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
        }),
      );
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

function backend(extra: Parameters<typeof createOpenAiBackend>[3] = {}, timeoutMs = 2000) {
  return createOpenAiBackend(
    { url, model: 'test-model', apiKey: 'sk-test-secret', timeoutMs, maxRetries: 1, concurrency: 2 },
    syntheticBackend(),
    createRegistry('llm-test', false),
    { backoffMs: 1, ...extra },
  );
}

const ctx = (samples = 1) => ({
  enabledDimensions: dims,
  samples,
  windows: user.windows.slice(2, 4),
  tenant: 't',
  userId: user.userId,
});

describe('openai backend against a local chat-completions server', () => {
  it('loads the versioned prompt templates', () => {
    const t = loadPromptTemplates('v1');
    expect(t.system).toContain('{{dimensions}}');
    expect(t.user).toContain('{{windows}}');
  });

  it('sends model, window text and a strict JSON schema, and validates the answer', async () => {
    seen.length = 0;
    script = [];
    fallbackMode = 'valid';
    const b = backend();
    const p = await b.predict(stats, ctx(3));
    expect(seen).toHaveLength(3);
    const req = seen[0] as Seen;
    expect(req.auth).toBe('Bearer sk-test-secret');
    expect(req.body.model).toBe('test-model');
    expect(req.body.temperature).toBe(0);
    expect(seen[1]?.body.temperature).toBeGreaterThan(0);
    const userMsg = req.body.messages.find((m) => m.role === 'user')?.content ?? '';
    expect(userMsg).toContain(user.windows[2]?.text);
    expect(userMsg).toContain(user.windows[3]?.text);
    expect(req.body.messages[0]?.content).toContain('life_events');
    expect(req.body.response_format.type).toBe('json_schema');
    expect(req.body.response_format.json_schema.strict).toBe(true);
    expect(req.body.response_format.json_schema.schema.required).toEqual(['tags', 'summary']);
    expect(p.fallback).toBeUndefined();
    expect(p.samples).toHaveLength(3);
    expect(p.tags.find((t) => t.dimension === 'interests')?.value).toBe('cooking');
    const baby = p.tags.find((t) => t.dimension === 'life_events');
    expect(baby?.sinceMs).toBe(Date.UTC(2026, 1, 14));
    expect(baby?.evidence.map((e) => e.windowId)).toEqual([user.windows[2]?.windowId, user.windows[3]?.windowId]);
    expect(p.usage).toEqual({ promptTokens: 300, completionTokens: 60 });
    expect(b.counters.promptTokens).toBe(300);
    expect(p.model).toBe('openai/test-model/prompt-v1');
  });

  it('retries an invalid answer, then succeeds', async () => {
    seen.length = 0;
    script = ['invalid', 'valid'];
    const b = backend();
    const p = await b.predict(stats, ctx(1));
    expect(seen).toHaveLength(2);
    expect(b.counters.invalid).toBe(1);
    expect(b.counters.retries).toBe(1);
    expect(p.fallback).toBeUndefined();
  });

  it('falls back to builtin after retries (errors, invalid answers, timeouts) and counts it', async () => {
    for (const mode of ['error500', 'invalid', 'slow'] as const) {
      seen.length = 0;
      script = [];
      fallbackMode = mode;
      const b = backend({}, mode === 'slow' ? 150 : 2000);
      const p = await b.predict(stats, ctx(1));
      expect(seen).toHaveLength(2);
      expect(p.fallback).toBe(true);
      expect(p.model).toBe('builtin/synthetic-test');
      expect(b.counters.fallbacks).toBe(1);
    }
    fallbackMode = 'valid';
  });

  it('opens the circuit after repeated failures and stops calling the endpoint until the cooldown', async () => {
    seen.length = 0;
    script = [];
    fallbackMode = 'error500';
    let now = 1_000_000;
    const b = backend({ breakerThreshold: 2, breakerCooldownMs: 10_000, maxRetries: 0, now: () => now });
    await b.predict(stats, ctx(1));
    await b.predict(stats, ctx(1));
    expect(b.circuitOpen).toBe(true);
    const calls = seen.length;
    const p = await b.predict(stats, ctx(1));
    expect(seen.length).toBe(calls);
    expect(p.fallback).toBe(true);
    // After the cooldown one trial goes through; success closes the circuit.
    now += 10_001;
    fallbackMode = 'valid';
    const ok = await b.predict(stats, ctx(1));
    expect(ok.fallback).toBeUndefined();
    expect(b.circuitOpen).toBe(false);
  });
});
