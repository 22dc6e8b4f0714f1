import { ErrorCodes, type RowshardError } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { LabelSet } from './labels.js';
import { TokenCounter } from './token-counter.js';

describe('LabelSet', () => {
  it('orders labels by count descending, then by name', () => {
    const counter = new TokenCounter();
    counter.add(['spam', 'ham', 'ham', 'eggs', 'spam', 'ham', 'bacon']);
    const labels = LabelSet.build(counter.counts);
    expect(labels.labels).toEqual(['ham', 'spam', 'bacon', 'eggs']);
    expect(labels.size).toBe(4);
    expect(labels.id('spam')).toBe(1);
    expect(labels.id('toast')).toBeUndefined();
    expect(labels.label(0)).toBe('ham');
    expect(labels.count(0)).toBe(3);
  });

  it('round-trips through its text form and names file:line on errors', () => {
    const labels = LabelSet.build(
      new Map([
        ['sci fi', 2],
        ['drama', 5],
      ]),
    );
    const text = labels.toText();
    expect(text).toBe('drama\t5\nsci fi\t2\n');
    expect(LabelSet.fromText(text, 'labels.txt').labels).toEqual(['drama', 'sci fi']);
    let error: RowshardError | undefined;
    try {
      LabelSet.fromText('drama\t5\ndrama\t1\n', 'labels.txt');
    } catch (e) {
      error = e as RowshardError;
    }
    expect(error?.code).toBe(ErrorCodes.BAD_DATA);
    expect(error?.message).toBe('labels.txt:2: label "drama" repeats line 1');
    expect(error?.details).toMatchObject({ file: 'labels.txt', line: 2, field: 'label' });
  });
});
