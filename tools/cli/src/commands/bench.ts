export async function runBench(_args: string[]): Promise<number> {
  throw new Error('not implemented yet');
}
