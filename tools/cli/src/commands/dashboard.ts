import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { applyMigrations, ClickHouseClient, ClickHouseScoreSink, startDashboardServer } from '@personastream/evaluator';
import { intOption, parseOptions } from '../args.js';
import { say } from '../progress.js';

/** `personastream dashboard`: serves the analysts' dashboard over the runs stored in ClickHouse. */
export async function runDashboard(args: string[]): Promise<number> {
  const o = parseOptions('dashboard', args, { port: { type: 'string' } });
  const port = intOption('dashboard', 'port', o.port, 8081);
  const url = process.env.CLICKHOUSE_URL;
  if (!url)
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      'dashboard needs CLICKHOUSE_URL (see .infra/env)',
      'CLICKHOUSE_URL',
    );
  const client = new ClickHouseClient({ url, database: process.env.CLICKHOUSE_DATABASE ?? 'personastream' });
  await applyMigrations(client);
  const server = await startDashboardServer({ port, sink: new ClickHouseScoreSink(client) });
  say(`dashboard: ${server.url}/  (Ctrl-C to stop)`);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await server.close();
  return 0;
}
