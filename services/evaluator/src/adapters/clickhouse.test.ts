import { describe, expect, it } from 'vitest';
import { ClickHouseClient, ClickHouseError } from './clickhouse.js';
import { sql } from './sql.js';

interface Call {
  url: URL;
  body: string;
  headers: Record<string, string>;
}

function fakeFetch(respond: (call: Call) => Response | Promise<Response>) {
  const calls: Call[] = [];
  const fn = (async (input: URL | string, init?: RequestInit) => {
    const call = {
      url: new URL(String(input)),
      body: String(init?.body ?? ''),
      headers: (init?.headers ?? {}) as Record<string, string>,
    };
    calls.push(call);
    return respond(call);
  }) as typeof fetch;
  return { fn, calls };
}

describe('ClickHouseClient', () => {
  it('posts the query with the database and JSON settings, and parses JSONEachRow', async () => {
    const f = fakeFetch(() => new Response('{"a":1}\n{"a":2}\n'));
    const client = new ClickHouseClient({ url: 'http://u%40x:p%3Aw@127.0.0.1:18123', database: 'db1', fetch: f.fn });
    expect(await client.query(sql`SELECT a FROM t WHERE s = ${"x'y"};`)).toEqual([{ a: 1 }, { a: 2 }]);
    const call = f.calls[0]!;
    expect(call.url.origin).toBe('http://127.0.0.1:18123');
    expect(call.url.username).toBe('');
    expect(call.url.searchParams.get('database')).toBe('db1');
    expect(call.url.searchParams.get('output_format_json_quote_64bit_integers')).toBe('0');
    expect(call.body).toBe("SELECT a FROM t WHERE s = 'x\\'y'\nFORMAT JSONEachRow");
    expect(call.headers.authorization).toBe(`Basic ${Buffer.from('u@x:p:w').toString('base64')}`);
    expect(client.endpoint).toBe('http://127.0.0.1:18123');
  });

  it('inserts JSONEachRow in chunks into a validated table name', async () => {
    const f = fakeFetch(() => new Response(''));
    const client = new ClickHouseClient({ url: 'http://127.0.0.1:1', fetch: f.fn, insertChunkRows: 2 });
    await client.insert('runs', [{ a: 1 }, { a: 2 }, { a: "x'\n" }]);
    expect(f.calls.map((c) => c.body)).toEqual([
      'INSERT INTO `runs` FORMAT JSONEachRow\n{"a":1}\n{"a":2}\n',
      'INSERT INTO `runs` FORMAT JSONEachRow\n{"a":"x\'\\n"}\n',
    ]);
    expect(f.calls[0]!.url.searchParams.has('database')).toBe(false);
    await expect(client.insert('runs; DROP TABLE x', [{}])).rejects.toThrow(/invalid SQL identifier/);
  });

  it("puts the server's message and code in errors", async () => {
    const f = fakeFetch(
      () =>
        new Response(
          "Code: 60, e.displayText() = DB::Exception: Table db1.nope doesn't exist., e.what() = DB::Exception\n",
          {
            status: 404,
          },
        ),
    );
    const client = new ClickHouseClient({ url: 'http://127.0.0.1:1', database: 'db1', fetch: f.fn });
    const err = (await client.query('SELECT * FROM nope').catch((e: unknown) => e)) as ClickHouseError;
    expect(err).toBeInstanceOf(ClickHouseError);
    expect(err.serverCode).toBe(60);
    expect(err.status).toBe(404);
    expect(err.message).toContain("Table db1.nope doesn't exist");
    expect(err.message).toContain('query: SELECT * FROM nope');
  });

  it('distinguishes unreachable servers, timeouts and bad URLs', async () => {
    const refused = fakeFetch(() => {
      throw Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } });
    });
    await expect(
      new ClickHouseClient({ url: 'http://127.0.0.1:1', fetch: refused.fn }).exec('SELECT 1'),
    ).rejects.toThrow(/unreachable \(ECONNREFUSED\)/);
    const slow = fakeFetch(() => {
      throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    });
    await expect(
      new ClickHouseClient({ url: 'http://127.0.0.1:1', fetch: slow.fn, timeoutMs: 5 }).exec('SELECT 1'),
    ).rejects.toThrow(/did not answer within 5 ms/);
    expect(() => new ClickHouseClient({ url: 'nope' })).toThrow(/invalid ClickHouse URL/);
    expect(() => new ClickHouseClient({ url: 'http://x', database: 'a-b' })).toThrow(/invalid SQL identifier/);
  });
});
