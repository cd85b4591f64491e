import { ErrorCode, PersonaStreamError } from '@personastream/contracts';
import { importDataset } from '@personastream/ingest';
import { choiceOption, parseOptions } from '../args.js';
import { progressBar, say } from '../progress.js';

const FORMATS = ['movielens', 'retailrocket', 'taobao', 'segment-jsonl'] as const;

/** `personastream import`: a public behaviour dataset → the canonical dataset layout (streamed, flat memory). */
export async function runImport(args: string[]): Promise<number> {
  const o = parseOptions('import', args, {
    format: { type: 'string' },
    path: { type: 'string' },
    out: { type: 'string' },
    tenant: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const format = choiceOption('import', 'format', o.format, FORMATS, 'movielens');
  if (o.format === undefined)
    throw new PersonaStreamError(
      ErrorCode.InvalidArgument,
      `import: --format is required (${FORMATS.join(', ')})`,
      'format',
    );
  if (typeof o.path !== 'string')
    throw new PersonaStreamError(ErrorCode.InvalidArgument, 'import: --path is required', 'path');
  if (typeof o.out !== 'string')
    throw new PersonaStreamError(ErrorCode.InvalidArgument, 'import: --out is required', 'out');
  let bar: ReturnType<typeof progressBar> | undefined;
  let phase = '';
  const result = await importDataset({
    format,
    path: o.path,
    out: o.out,
    ...(typeof o.tenant === 'string' ? { tenant: o.tenant } : {}),
    onProgress: (p) => {
      if (p.phase !== phase) {
        bar?.stop();
        phase = p.phase;
        bar = progressBar(
          p.phase === 'read' ? 'read (bytes)' : 'write',
          p.phase === 'read' ? p.totalBytes : Math.max(p.totalEvents, 1),
        );
      }
      bar?.update(p.phase === 'read' ? p.bytes : p.events);
    },
  });
  bar?.stop();
  say(`import ${format}: ${result.events} events, ${result.truths} labelled users → ${o.out}`);
  say(
    `  labelled dimensions: ${result.manifest.labelledDimensions.join(', ') || 'none'}; license: ${result.manifest.license}`,
  );
  if (result.skipped && Object.keys(result.skipped).length > 0) say(`  skipped: ${JSON.stringify(result.skipped)}`);
  if (o.json)
    console.log(
      JSON.stringify({
        out: o.out,
        events: result.events,
        truths: result.truths,
        skipped: result.skipped,
        manifest: result.manifest,
      }),
    );
  return 0;
}
