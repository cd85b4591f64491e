/** The port the openai backend talks to: one chat-completions call (OpenAI wire names). */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  seed?: number;
  max_tokens?: number;
  response_format?: unknown;
}

export interface ChatResult {
  content: string;
  usage: { promptTokens: number; completionTokens: number };
  finishReason: string;
}

/** A transport error; `retryable` for timeouts, network errors, 408/409/429 and 5xx. */
export class ChatError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

/** The port the openai backend talks to (a fake in tests is fine, but the real one is tested too). */
export interface ChatClient {
  complete(req: ChatRequest): Promise<ChatResult>;
}
