/**
 * A minimal ClickHouse HTTP client on plain `fetch`, valid for ClickHouse 18.16 and current
 * releases: the query goes in the POST body, results come back as JSONEachRow, inserts send
 * `INSERT INTO t FORMAT JSONEachRow` followed by the rows. Values are never sent as server-side
 * parameters (18.16 has none): queries are built with `sql.ts`.
 */
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { type SqlFragment, sqlIdentifier } from './sql.js';

export interface ClickHouseClientOptions {
  /** e.g. http://127.0.0.1:18123 ; credentials in the URL (http://user:pass@host:port) use basic auth. */
  url: string;
  /** Database for unqualified names (sent as the `database` setting). */
  database?: string;
  /** Per-request timeout, ms (default 30 s). */
  timeoutMs?: number;
  /** Extra settings sent with every request (URL parameters). */
  settings?: Record<string, string | number>;
  /** Rows per INSERT request (default 10 000). */
  insertChunkRows?: number;
  fetch?: typeof fetch;
}

/** A failed ClickHouse request; `serverMessage` is the server's own text, `serverCode` its code. */
export class ClickHouseError extends PersonaStreamError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly status?: number,
    readonly serverCode?: number,
    readonly serverMessage?: string,
  ) {
    super(code, message);
    this.name = 'ClickHouseError';
  }
}

function preview(query: string): string {
  const q = query.replace(/\s+/g, ' ').trim();
  return q.length > 160 ? `${q.slice(0, 160)}…` : q;
}

export class ClickHouseClient {
  readonly database: string | undefined;
  private readonly base: URL;
  private readonly auth: string | undefined;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  private readonly chunk: number;

  constructor(private readonly options: ClickHouseClientOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new PersonaStreamError(
        ErrorCode.InvalidArgument,
        `invalid ClickHouse URL "${options.url}"`,
        'CLICKHOUSE_URL',
      );
    }
    if (url.username || url.password) {
      this.auth = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    this.base = url;
    this.database = options.database;
    if (options.database !== undefined) sqlIdentifier(options.database);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchFn = options.fetch ?? fetch;
    this.chunk = options.insertChunkRows ?? 10_000;
  }

  /** The same server with another database (undefined: the server's default database). */
  withDatabase(database: string | undefined): ClickHouseClient {
    return new ClickHouseClient({ ...this.options, database });
  }

  /** Where the client points (without credentials), for logs and errors. */
  get endpoint(): string {
    return this.base.origin;
  }

  private async request(body: string, settings: Record<string, string | number>, what: string): Promise<string> {
    const url = new URL(this.base.toString());
    const params: Record<string, string | number> = {
      ...(this.database !== undefined ? { database: this.database } : {}),
      ...this.options.settings,
      ...settings,
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'text/plain; charset=utf-8',
          ...(this.auth ? { authorization: this.auth } : {}),
        },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        throw new ClickHouseError(
          ErrorCode.DeadlineExceeded,
          `ClickHouse at ${this.endpoint} did not answer within ${this.timeoutMs} ms (${what}: ${preview(body)})`,
        );
      }
      const cause = e.cause?.code ?? e.cause?.message ?? e.message;
      throw new ClickHouseError(
        ErrorCode.Unavailable,
        `ClickHouse at ${this.endpoint} is unreachable (${cause}); is it running? ("personastream infra status")`,
      );
    }
    const text = await res.text();
    if (!res.ok) {
      const server = text.trim();
      const codeMatch = /Code:\s*(\d+)/.exec(server);
      const serverCode = codeMatch ? Number(codeMatch[1]) : undefined;
      const code =
        res.status === 401 || res.status === 403
          ? ErrorCode.PermissionDenied
          : res.status >= 500 && serverCode === undefined
            ? ErrorCode.Unavailable
            : ErrorCode.InvalidArgument;
      throw new ClickHouseError(
        code,
        `ClickHouse ${what} failed (HTTP ${res.status}): ${server.slice(0, 1000)} — query: ${preview(body)}`,
        res.status,
        serverCode,
        server,
      );
    }
    return text;
  }

  /** Runs a statement that returns no rows (DDL, ALTER, INSERT … SELECT). */
  async exec(query: string | SqlFragment): Promise<void> {
    await this.request(String(query), {}, 'statement');
  }

  /** Runs a SELECT and parses its rows (the client appends `FORMAT JSONEachRow`). */
  async query<T = Record<string, unknown>>(query: string | SqlFragment): Promise<T[]> {
    const q = String(query).trim().replace(/;$/, '');
    const text = await this.request(
      `${q}\nFORMAT JSONEachRow`,
      { output_format_json_quote_64bit_integers: 0 },
      'query',
    );
    const rows: T[] = [];
    for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line) as T);
    return rows;
  }

  /** Inserts rows as JSONEachRow (in chunks); columns not given take their defaults. */
  async insert(table: string, rows: readonly object[]): Promise<void> {
    const target = sqlIdentifier(table);
    for (let i = 0; i < rows.length; i += this.chunk) {
      const body = rows
        .slice(i, i + this.chunk)
        .map((r) => JSON.stringify(r))
        .join('\n');
      await this.request(`INSERT INTO ${target} FORMAT JSONEachRow\n${body}\n`, {}, `insert into ${table}`);
    }
  }

  /** True when the server answers `/ping`. */
  async ping(): Promise<boolean> {
    try {
      const res = await this.fetchFn(new URL('/ping', this.base), { signal: AbortSignal.timeout(this.timeoutMs) });
      return res.ok && (await res.text()).startsWith('Ok');
    } catch {
      return false;
    }
  }

  /** The server version string, e.g. "18.16.1". */
  async version(): Promise<string> {
    const rows = await this.query<{ v: string }>('SELECT version() AS v');
    return rows[0]?.v ?? '';
  }
}
