// The canonical dataset layout (events.jsonl.gz, truth.jsonl, manifest.json): readers and writers.
export {};
