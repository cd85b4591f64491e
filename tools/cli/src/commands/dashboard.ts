import { randomBytes } from 'node:crypto';
import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import {
  AccessTokens,
  applyMigrations,
  ClickHouseClient,
  ClickHouseScoreSink,
  startDashboardServer,
} from '@personastream/evaluator';
import { intOption, parseOptions } from '../args.js';
import { say } from '../progress.js';

/**
 * `personastream dashboard`: serves the analysts' dashboard over the runs stored in ClickHouse. Its
 * API takes the evaluator's tokens (EVALUATOR_TENANT_TOKENS / EVALUATOR_ADMIN_TOKEN in the
 * environment); with neither set, an admin token is made for this session and the address printed
 * with it (`/#token=…`, which the page keeps for the tab and takes out of the address).
 */
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
  const configured = Boolean(process.env.EVALUATOR_TENANT_TOKENS || process.env.EVALUATOR_ADMIN_TOKEN);
  const sessionToken = configured ? undefined : `psa_${randomBytes(16).toString('hex')}`;
  const parsed = AccessTokens.parse({
    tenantTokens: process.env.EVALUATOR_TENANT_TOKENS,
    adminToken: sessionToken ?? process.env.EVALUATOR_ADMIN_TOKEN,
  });
  if (!parsed.tokens) {
    throw new PersonaStreamError(ErrorCode.InvalidArgument, `dashboard: ${parsed.problems.join('; ')}`, 'token');
  }
  const client = new ClickHouseClient({ url, database: process.env.CLICKHOUSE_DATABASE ?? 'personastream' });
  await applyMigrations(client);
  const server = await startDashboardServer({ port, sink: new ClickHouseScoreSink(client), access: parsed.tokens });
  say(
    sessionToken
      ? `dashboard: ${server.url}/#token=${sessionToken}  (admin token of this session; Ctrl-C to stop)`
      : `dashboard: ${server.url}/  (tokens from EVALUATOR_TENANT_TOKENS / EVALUATOR_ADMIN_TOKEN; Ctrl-C to stop)`,
  );
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  await server.close();
  return 0;
}
