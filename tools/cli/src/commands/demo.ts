import { type RunReport, reportContract } from '@personastream/evaluator';
import { simulatorConfig } from '@personastream/simulator';
import { choiceOption, intOption, parseOptions } from '../args.js';
import { runEmbeddedPipeline } from '../pipeline/embedded.js';
import { say } from '../progress.js';
import { formatReport } from '../report.js';

/**
 * `personastream demo`: simulates N users and runs them through the whole pipeline, embedded (one
 * process, in-memory adapters) or on the local stack (Kafka, Redis, ClickHouse and the five
 * services as processes), then prints the report.
 */
export async function runDemo(args: string[]): Promise<number> {
  const o = parseOptions('demo', args, {
    users: { type: 'string' },
    seed: { type: 'string' },
    stack: { type: 'string' },
    json: { type: 'boolean', default: false },
    'keep-running': { type: 'boolean', default: false },
  });
  const users = intOption('demo', 'users', o.users, 50);
  const seed = intOption('demo', 'seed', o.seed, 1);
  const stack = choiceOption('demo', 'stack', o.stack, ['embedded', 'local'] as const, 'embedded');
  const runId = `demo-s${seed}-u${users}-${Date.now().toString(36)}`;
  const sim = simulatorConfig({
    users,
    seed,
    runId,
    tenant: stack === 'local' ? `demo-${Date.now().toString(36)}` : 'demo',
  });
  say(`demo: ${users} users, seed ${seed}, stack ${stack}, run ${runId}`);
  let report: RunReport;
  if (stack === 'embedded') {
    ({ report } = await runEmbeddedPipeline({ sim, scoreAllUsers: true }));
  } else {
    const { runLocalPipeline } = await import('../pipeline/local.js');
    const keepRunning = Boolean(o['keep-running']);
    const local = await runLocalPipeline({ sim, scoreAllUsers: true, keepRunning });
    report = local.report;
    if (keepRunning) {
      say(`persona and evaluator API token of tenant ${sim.tenant}: ${local.token}`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      await local.stop();
    }
  }
  say(formatReport(report));
  if (o.json) console.log(JSON.stringify(reportContract(report)));
  return 0;
}
