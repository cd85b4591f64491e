// The event the ingest benchmarks send (native JSON shape): one item view, users/items/sessions cycling.
export const benchEventJson = (t0: number, id: string, i: number) => ({
  eventId: id,
  userId: `user-${i % 1000}`,
  eventTimeMs: t0 + i,
  type: 'EVENT_TYPE_ITEM_VIEW',
  item: {
    id: `sku-${i % 5000}`,
    categoryPath: ['Sports', 'Running', 'Running Shoes'],
    brand: 'Acme',
    price: 89.9,
    currency: 'EUR',
  },
  context: { device: 'mobile', sessionId: `s-${i % 3000}` },
});
