export async function runImport(_args: string[]): Promise<number> {
  throw new Error('not implemented yet');
}
