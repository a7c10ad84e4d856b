import { describe, expect, it } from 'vitest';
import { runDemo } from '../lib/demo/demo';

describe('convene demo', () => {
  it('runs three native bots through a network cut and an automatic reconnection with nothing lost', async () => {
    const lines: string[] = [];
    const code = await runDemo((l) => lines.push(l));
    expect(code).toBe(0);
    const text = lines.join('\n');
    for (const name of ['alice', 'bob', 'carol']) {
      expect(text).toMatch(new RegExp(`${name} +connected as`));
      expect(text).toMatch(new RegExp(`${name} +network dropped: reconnecting`));
      expect(text).toMatch(new RegExp(`${name} +reconnected as .* \\(same connection, resumed\\)`));
      expect(text).toMatch(new RegExp(`${name} +sees stream "`));
    }
    expect(lines.at(-1)).toBe('summary: signals sent 60, received 180 (expected 180), lost 0, duplicated 0, failed 0');
  });
});
