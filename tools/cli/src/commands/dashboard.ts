export async function runDashboard(_args: string[]): Promise<number> {
  throw new Error('not implemented yet');
}
