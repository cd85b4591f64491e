// The canonical dataset layout (events.jsonl.gz, truth.jsonl, manifest.json): readers and writers
// shared by `simulate`, `import`, `bench` and `train`.
export * from './dataset.js';
export * from './gzip.js';
