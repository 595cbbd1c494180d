// The one number formatter (reports/format.ts): significant digits, one notation per interval, human
// units, clipping, percentages.
import { describe, expect, it } from 'vitest';
import { displayUnit, formatChange, formatInterval, formatNumber, formatValue, headerUnit, quantityOf, words } from '../reports/format.ts';

describe('number formatter', () => {
  it('three significant digits for a value and its interval alike', () => {
    expect(formatValue(5.332894856722248, 'bpb', [5.302189893761867, 5.36359981968263])).toBe('5.33 [5.3, 5.36]');
    expect(formatNumber(0.09375)).toBe('0.0938');
    expect(formatNumber(123.456)).toBe('123');
    expect(formatNumber(-0.075)).toBe('-0.075');
    expect(formatNumber(0)).toBe('0');
  });

  it('never mixes e-notation inside one interval', () => {
    // today: "0.001125 [8.70e-4, 0.001597]"
    expect(formatValue(0.001126, '', [0.00087, 0.001597])).toBe('0.00113 [0.00087, 0.0016]');
    expect(formatValue(6.69e-7, '', [6.69e-7, 6.69e-7])).toBe('6.69e-7 [6.69e-7, 6.69e-7]');
    expect(formatValue(0.5, '', [3e-5, 0.9])).toBe('5e-1 [3e-5, 9e-1]');
    expect(formatInterval([-3.45e-4, 4.06e-4])).toBe('[-0.000345, 0.000406]');
    const text = formatValue(1.26e-4, '', [-3.45e-5, 4.06e-4]);
    const parts = text.match(/[-0-9.e]+/g)!;
    expect(new Set(parts.map((p) => p.includes('e'))).size).toBe(1);
  });

  it('times in s / ms / µs, bytes in B / KiB / MiB / GiB, rates with thousands separators', () => {
    expect(formatValue(0.001063, 's', [0.001049, 0.001388])).toBe('1.06 ms [1.05, 1.39]');
    expect(formatValue(8.54e-4, 's')).toBe('854 µs');
    expect(formatValue(2.5, 's')).toBe('2.5 s');
    expect(formatValue(11470, 'bytes')).toBe('11.2 KiB');
    expect(formatValue(4.38e8, 'bytes')).toBe('418 MiB');
    expect(formatValue(3 * 2 ** 30, 'bytes')).toBe('3 GiB');
    expect(formatValue(512, 'bytes')).toBe('512 B');
    expect(formatValue(16420.7, 'tokens/s')).toBe('16,400 tokens/s');
    expect(formatValue(2220, 'tokens/s', [1694, 2408])).toBe('2,220 tokens/s [1,690, 2,410]');
  });

  it('clips intervals of times, bytes and rates at 0, and not of other quantities', () => {
    expect(formatValue(0.002, 's', [-0.001, 0.005])).toBe('2 ms [0, 5]');
    expect(formatValue(100, 'tokens/s', [-40, 240])).toBe('100 tokens/s [0, 240]');
    expect(formatValue(0.2, 'bpb', [-0.1, 0.5])).toBe('0.2 [-0.1, 0.5]');
    // a difference of two times keeps its sign and its whole interval
    expect(formatValue(-1.26e-4, 's', [-3.45e-4, 4.06e-4], { difference: true })).toBe('-126 µs [-345, 406]');
  });

  it('accuracies (fractions) as percentages', () => {
    expect(formatValue(0.125, 'fraction', [0.06749, 0.2947])).toBe('12.5% [6.75%, 29.5%]');
    expect(formatValue(1, 'fraction')).toBe('100%');
    expect(quantityOf('fraction')).toBe('percent');
  });

  it('units in headers only where cells do not carry them; missing values; changes; words', () => {
    expect(headerUnit('bpb')).toBe('bpb');
    expect(headerUnit('s')).toBe('');
    expect(headerUnit('bytes')).toBe('');
    expect(formatValue(NaN, 's')).toBe('—');
    expect(formatValue(undefined)).toBe('—');
    expect(formatChange(0.1234)).toBe('+12.3%');
    expect(formatChange(-0.031)).toBe('-3.1%');
    expect(words('attention_resolution')).toBe('attention resolution');
    // chart axes: times and bytes in the unit of their magnitude, others as recorded
    expect(displayUnit('s', 7e-4)).toEqual({ factor: 1e-6, unit: 'µs' });
    expect(displayUnit('s', 0.002)).toEqual({ factor: 1e-3, unit: 'ms' });
    expect(displayUnit('bytes', 5e5)).toEqual({ factor: 1024, unit: 'KiB' });
    expect(displayUnit('bpb', 5)).toEqual({ factor: 1, unit: 'bpb' });
  });
});
