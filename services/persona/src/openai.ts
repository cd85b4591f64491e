import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, type Registry } from '@personastream/runtime';
import { createOpenAiClient } from './adapters/openai-client.js';
import type { SyncModelBackend } from './core/backend.js';
import { OpenAiBackend, type OpenAiBackendOptions, type PromptTemplates } from './core/openai/backend.js';
import type { ChatClient } from './core/openai/port.js';

/** Directory of the versioned prompt templates (`services/persona/prompts`). */
export const promptsDir: string = fileURLToPath(new URL('../prompts/', import.meta.url));

/** Loads `prompts/<version>/system.md` and `user.md`. */
export function loadPromptTemplates(version = 'v1', dir = promptsDir): PromptTemplates {
  const read = (name: string) => readFileSync(join(dir, version, name), 'utf8');
  return { version, system: read('system.md'), user: read('user.md') };
}

export interface OpenAiSettings {
  url: string;
  model: string;
  apiKey?: string | undefined;
  timeoutMs?: number;
  maxRetries?: number;
  concurrency?: number;
  temperature?: number;
  promptVersion?: string;
  /** Use this client instead of HTTP (tests). */
  client?: ChatClient;
}

/**
 * The openai backend wired with the HTTP client, the prompt templates and Prometheus metrics:
 * `persona_llm_requests_total{outcome}`, `persona_llm_tokens_total{kind}`,
 * `persona_llm_fallbacks_total{reason}`, `persona_llm_circuit_open`.
 */
export function createOpenAiBackend(
  settings: OpenAiSettings,
  fallback: SyncModelBackend,
  registry?: Registry,
  extra: Partial<OpenAiBackendOptions> = {},
): OpenAiBackend {
  const registers = registry ? [registry] : [];
  const requests = new Counter({
    name: 'persona_llm_requests_total',
    help: 'LLM chat-completion requests by outcome (ok, error, invalid).',
    labelNames: ['outcome'],
    registers,
  });
  const tokens = new Counter({
    name: 'persona_llm_tokens_total',
    help: 'LLM tokens by kind (prompt, completion), from the endpoint usage.',
    labelNames: ['kind'],
    registers,
  });
  const fallbacks = new Counter({
    name: 'persona_llm_fallbacks_total',
    help: 'Updates that fell back to the builtin backend, by reason.',
    labelNames: ['reason'],
    registers,
  });
  const circuit = new Gauge({
    name: 'persona_llm_circuit_open',
    help: '1 while the LLM circuit breaker is open.',
    registers,
  });
  const client =
    settings.client ??
    createOpenAiClient({ baseUrl: settings.url, apiKey: settings.apiKey, timeoutMs: settings.timeoutMs ?? 30_000 });
  return new OpenAiBackend({
    client,
    model: settings.model,
    templates: loadPromptTemplates(settings.promptVersion ?? 'v1'),
    fallback,
    maxRetries: settings.maxRetries ?? 2,
    concurrency: settings.concurrency ?? 8,
    temperature: settings.temperature ?? 0.7,
    onEvent: (e) => {
      if (e.type === 'request') requests.inc({ outcome: e.outcome });
      else if (e.type === 'tokens') {
        tokens.inc({ kind: 'prompt' }, e.prompt);
        tokens.inc({ kind: 'completion' }, e.completion);
      } else if (e.type === 'fallback') fallbacks.inc({ reason: e.reason });
      else circuit.set(e.state === 'open' ? 1 : 0);
    },
    ...extra,
  });
}
