import { describe, expect, it } from 'vitest';
import { cell, displayWidth, escapeControl, table } from './format.js';

describe('escapeControl', () => {
  it('turns every control character into a visible escape', () => {
    expect(escapeControl('a\u001b[31mb\u0007\r\n\t\u009b1m\u202eZ\u2028')).toBe(
      'a\\u001b[31mb\\u0007\\r\\n\\t\\u009b1m\\u202eZ\\u2028',
    );
    expect(escapeControl('plain 中文 é')).toBe('plain 中文 é');
  });

  it('keeps newlines when asked, and JSON text keeps its meaning', () => {
    expect(escapeControl('a\nb\u001b', { keepNewlines: true })).toBe('a\nb\\u001b');
    const json = JSON.stringify({ v: 'x\u009by\u202e' }, null, 2);
    const safe = escapeControl(json, { keepNewlines: true });
    expect(safe).not.toMatch(/[\u0080-\u009f\u202e]/);
    expect(JSON.parse(safe)).toEqual({ v: 'x\u009by\u202e' });
  });
});

describe('displayWidth', () => {
  it.each([
    ['abc', 3],
    ['中文请求', 8],
    ['ｆｕｌｌ', 8],
    ['한국어', 6],
    ['e\u0301', 1],
    ['a\u200bb', 2],
    ['🎬', 2],
  ])('%s is %i columns', (text, width) => {
    expect(displayWidth(text)).toBe(width);
  });
});

describe('table and cell', () => {
  it('aligns columns by display width', () => {
    const lines = table(
      ['ID', 'NEXT'],
      [
        ['中文', 'x'],
        ['ab', 'y'],
      ],
    ).split('\n');
    expect(lines).toEqual(['ID    NEXT', '中文  x', 'ab    y']);
  });

  it('cuts by columns and escapes', () => {
    expect(cell('中文中文中文', 7)).toBe('中文中…');
    expect(displayWidth(cell('中文中文中文', 7))).toBeLessThanOrEqual(7);
    expect(cell('a\nb')).toBe('a\\nb');
  });
});
