export async function runTrain(_args: string[]): Promise<number> {
  throw new Error('not implemented yet');
}
