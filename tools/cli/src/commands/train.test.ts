import { describe, expect, it } from 'vitest';
import { itemTenantsOption } from './train.js';

describe('train --item-tenants', () => {
  it('takes tenant ids and prefixes', () => {
    expect(itemTenantsOption(undefined)).toBeUndefined();
    expect(itemTenantsOption('acme, shop-*')).toEqual(['acme', 'shop-*']);
  });
  it('names what is not a tenant id', () => {
    expect(() => itemTenantsOption('acme,bad tenant')).toThrow(/--item-tenants .*"bad tenant" is not one/);
    expect(() => itemTenantsOption('acme,,x')).toThrow(/"" is not one/);
    expect(() => itemTenantsOption(true)).toThrow(/--item-tenants must be a comma-separated list/);
  });
});
