export async function benchDataset(_o: { dir: string; json: boolean; samples: number }): Promise<number> {
  throw new Error('bench --dataset: not implemented yet');
}
