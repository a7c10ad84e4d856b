import { describe, expect, it } from 'vitest';
import { runDemo } from '../lib/demo/demo';

describe('convene demo', () => {
  it('runs three native bots through a network cut and an automatic reconnection with nothing lost; they hear each other\'s pitch and see each other\'s colour', async () => {
    const lines: string[] = [];
    const code = await runDemo((l) => lines.push(l));
    if (code !== 0) process.stdout.write(`${lines.join('\n')}\n`);
    expect(code).toBe(0);
    const text = lines.join('\n');
    for (const name of ['alice', 'bob', 'carol']) {
      expect(text).toMatch(new RegExp(`${name} +connected as`));
      expect(text).toMatch(new RegExp(`${name} +network dropped: reconnecting`));
      expect(text).toMatch(new RegExp(`${name} +reconnected as .* \\(same connection, resumed\\)`));
      expect(text).toMatch(new RegExp(`${name} +sees stream "`));
      // the publishers' cut reaches the subscribers (Subscriber disconnected / connected)
      expect(text).toMatch(new RegExp(`${name} +hears \\w+'s stream interrupted`));
      expect(text).toMatch(new RegExp(`${name} +hears \\w+'s stream again`));
    }
    // each sings its own pitch and hears the others' (alice 440, bob 660, carol 880 Hz), before and after the cut
    expect(text).toMatch(/alice +hears bob at 660 Hz, carol at 880 Hz\n/);
    expect(text).toMatch(/bob +hears alice at 440 Hz, carol at 880 Hz\n/);
    expect(text).toMatch(/carol +hears alice at 440 Hz, bob at 660 Hz \(after the cut\)/);
    // each films its own colour (alice red, bob green, carol blue) and sees the others'
    expect(text).toMatch(/alice +sees bob in green, carol in blue\n/);
    expect(text).toMatch(/carol +sees alice in red, bob in green \(after the cut\)/);
    expect(lines.at(-3)).toBe('video: 12 of 12 streams seen in their colour (each bot sees the 2 others, before and after the cut)');
    expect(lines.at(-2)).toBe('audio: 12 of 12 streams heard at their pitch (each bot hears the 2 others, before and after the cut)');
    expect(lines.at(-1)).toBe('summary: signals sent 60, received 180 (expected 180), lost 0, duplicated 0, failed 0');
  });
});
