export async function runReplay(_args: string[]): Promise<number> {
  throw new Error('not implemented yet');
}
