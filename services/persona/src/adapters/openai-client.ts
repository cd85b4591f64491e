import { type ChatClient, ChatError } from '../core/openai/port.js';

/**
 * A minimal OpenAI-compatible chat-completions client (vLLM, SGLang, llama.cpp server, Ollama,
 * hosted APIs): one POST `{baseUrl}/chat/completions` per call, with a timeout. The API key goes
 * only into the Authorization header; it is never logged or put into errors.
 */
export interface OpenAiClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8000/v1 (a trailing /chat/completions is accepted too). */
  baseUrl: string;
  apiKey?: string;
  timeoutMs?: number;
}

export function createOpenAiClient(opts: OpenAiClientOptions): ChatClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const url = base.endsWith('/chat/completions') ? base : `${base}/chat/completions`;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return {
    async complete(req) {
      const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
      if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method: 'POST',
          headers,
          body: JSON.stringify(req),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const name = (err as Error).name;
        if (name === 'TimeoutError' || name === 'AbortError')
          throw new ChatError(`LLM request timed out after ${timeoutMs} ms`, true);
        throw new ChatError(`LLM request failed: ${(err as Error).message}`, true);
      }
      const text = await res.text().catch(() => '');
      if (!res.ok) {
        const retryable = res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500;
        throw new ChatError(`LLM endpoint answered HTTP ${res.status}: ${text.slice(0, 200)}`, retryable, res.status);
      }
      let body: {
        choices?: Array<{ message?: { content?: string | null }; finish_reason?: string }>;
        usage?: { prompt_tokens?: number; completion_tokens?: number };
      };
      try {
        body = JSON.parse(text);
      } catch {
        throw new ChatError('LLM endpoint answered with invalid JSON', true, res.status);
      }
      const choice = body.choices?.[0];
      return {
        content: choice?.message?.content ?? '',
        finishReason: choice?.finish_reason ?? '',
        usage: {
          promptTokens: body.usage?.prompt_tokens ?? 0,
          completionTokens: body.usage?.completion_tokens ?? 0,
        },
      };
    },
  };
}
