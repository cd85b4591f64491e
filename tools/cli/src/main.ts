import { PersonaStreamError } from '@personastream/contracts';
import { ConfigError } from '@personastream/runtime';
import { infraUsage, runInfra } from './commands/infra.js';

const USAGE = `personastream — live behaviour streams into personas, scored by HPR-Bench

Usage:
  ${infraUsage}
  personastream demo [--users N] [--seed S] [--stack embedded|local] [--json]
  personastream bench [--users N] [--seed S | --seeds 1,2,3] [--dataset DIR] [--stack embedded|local]
                      [--backend builtin|openai] [--samples K] [--json]
  personastream simulate --users N --seed S (--out DIR | --stats) [--json]
  personastream train (--dataset DIR | --users N --seed S) --out FILE
  personastream import --format movielens|retailrocket|taobao|segment-jsonl --path P --out DIR
  personastream replay --path DIR --target http|kafka [--url URL] [--speedup X]
                       [--ca-file PEM] [--cert-file PEM --key-file PEM]
  personastream dashboard [--port P]
  personastream stack up|down|status [--tenant NAME]… [--json] [--port-base N] [--isolate NAME] [--purge]
  personastream loadtest NAME [--json] [options of the load test]   (personastream loadtest --list)

Every command prints progress on stderr; with --json the last line of stdout is one JSON object.`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  infra: async (args) => runInfra(args),
  demo: async (args) => (await import('./commands/demo.js')).runDemo(args),
  bench: async (args) => (await import('./commands/bench.js')).runBench(args),
  simulate: async (args) => (await import('./commands/simulate.js')).runSimulate(args),
  train: async (args) => (await import('./commands/train.js')).runTrain(args),
  import: async (args) => (await import('./commands/import.js')).runImport(args),
  replay: async (args) => (await import('./commands/replay.js')).runReplay(args),
  dashboard: async (args) => (await import('./commands/dashboard.js')).runDashboard(args),
  stack: async (args) => (await import('./commands/stack.js')).runStack(args),
  loadtest: async (args) => (await import('./commands/loadtest.js')).runLoadtest(args),
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof PersonaStreamError || err instanceof ConfigError) {
      console.error(`error: ${err.message}`);
      process.exitCode = 2;
    } else {
      console.error(err);
      process.exitCode = 1;
    }
  },
);
