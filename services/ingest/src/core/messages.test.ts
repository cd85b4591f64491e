import { create } from '@bufbuild/protobuf';
import { BehaviorEventSchema, EventContextSchema, ItemSchema } from '@personastream/contracts';
import { describe, expect, it } from 'vitest';
import { newContext, newEvent, newItem } from './messages.js';

describe('plain message constructors', () => {
  it('build what create() builds', () => {
    expect(newItem()).toStrictEqual(create(ItemSchema));
    expect(newContext({ device: 'mobile' })).toStrictEqual(create(EventContextSchema, { device: 'mobile' }));
    expect(newEvent()).toStrictEqual(create(BehaviorEventSchema));
    expect(Object.keys(newEvent()).sort()).toEqual(Object.keys(create(BehaviorEventSchema)).sort());
  });
});
