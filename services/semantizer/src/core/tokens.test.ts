import { canonicalEventJson } from '@personastream/contracts';
import { countTokens as cl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { countTokens as o200k } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { generateEvents, rng } from '../testing/generator.js';
import { TokenCounter } from './tokens.js';

const lines = generateEvents({ users: 4, days: 4, seed: 11 }).map((e) => canonicalEventJson(e));
const ALPHABET = [
  'a',
  'Z',
  '0',
  '7',
  '9',
  ' ',
  '  ',
  '"',
  ':',
  ',',
  '{',
  '}',
  '-',
  '.',
  "'s",
  'é',
  '²',
  '½',
  '😀',
  '\n',
  '\t',
  '/',
  '_',
];

/** Words, spaces, punctuation and digits as in rendered windows, user agents and ids. */
const WORDS = [
  'ab',
  'Running',
  'OS',
  'x',
  ' ',
  '  ',
  '|',
  ':',
  ';',
  ',',
  '>',
  '-',
  '/',
  '(',
  ')',
  '.',
  "'",
  "'s",
  '$',
  '@',
  '?',
  '!',
  '12',
  '7',
  'é',
  '\n',
  '\t',
];

function randomLine(r: () => number, alphabet: readonly string[] = ALPHABET): string {
  let s = '';
  const n = 1 + Math.floor(r() * 60);
  for (let i = 0; i < n; i++) s += alphabet[Math.floor(r() * alphabet.length)];
  return s;
}

describe('TokenCounter', () => {
  it('every 1–3 digit ASCII number is one token (the counter relies on it)', () => {
    for (let i = 0; i < 1000; i++) {
      for (const s of [String(i), String(i).padStart(2, '0'), String(i).padStart(3, '0')]) {
        expect(cl100k(s)).toBe(1);
        expect(o200k(s)).toBe(1);
      }
    }
  });

  for (const [name, reference] of [
    ['cl100k_base', cl100k],
    ['o200k_base', o200k],
  ] as const) {
    it(`matches the library exactly on event lines (${name})`, () => {
      const counter = new TokenCounter(name);
      for (const line of lines) {
        expect(counter.line(line)).toBe(reference(line));
        expect(counter.line(line, true)).toBe(reference(`${line}\n`));
      }
    });

    it(`matches the library exactly on random punctuation/digit/unicode soup (${name})`, () => {
      const counter = new TokenCounter(name);
      const r = rng(5);
      for (let i = 0; i < 3000; i++) {
        const line = randomLine(r);
        expect(counter.line(line), JSON.stringify(line)).toBe(reference(line));
      }
    });

    it(`matches the library exactly on random word/space/punctuation soup (${name})`, () => {
      const counter = new TokenCounter(name);
      const r = rng(6);
      for (let i = 0; i < 5000; i++) {
        const line = randomLine(r, WORDS);
        expect(counter.line(line), JSON.stringify(line)).toBe(reference(line));
        expect(counter.line(line, true), JSON.stringify(line)).toBe(reference(`${line}\n`));
      }
    });
  }
});
