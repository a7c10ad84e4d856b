/**
 * `convene join --record FILE.wav`: the WAV writer (header, mixing, bounded window), and the
 * command end to end: a Node bot sings 440 Hz, the recording holds it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AudioSource, type ReceivedAudioFrame } from '../lib/index';
import { WavRecorder } from '../lib/record';
import { goertzel, pushTone, tone } from './helpers/audio';
import { API_KEY } from './helpers/server';
import { useFixtureSessions } from './helpers/sessions';

const dir = mkdtempSync(join(tmpdir(), 'convene-record-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Wav { rate: number; channels: number; bits: number; samples: Int16Array }

/** Parses a canonical 44-byte-header PCM WAV, checking its sizes. */
function readWav(path: string): Wav {
  const b = readFileSync(path);
  expect(b.toString('ascii', 0, 4)).toBe('RIFF');
  expect(b.readUInt32LE(4)).toBe(b.length - 8);
  expect(b.toString('ascii', 8, 16)).toBe('WAVEfmt ');
  expect(b.readUInt16LE(20)).toBe(1);
  expect(b.toString('ascii', 36, 40)).toBe('data');
  expect(b.readUInt32LE(40)).toBe(b.length - 44);
  const channels = b.readUInt16LE(22);
  const rate = b.readUInt32LE(24);
  expect(b.readUInt32LE(28)).toBe(rate * channels * 2);
  const samples = new Int16Array((b.length - 44) / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = b.readInt16LE(44 + i * 2);
  return { rate, channels, bits: b.readUInt16LE(34), samples };
}

const frame = (data: Int16Array, timestamp: number, rate = 16000): ReceivedAudioFrame =>
  ({ data, sampleRate: rate, channels: 1, samplesPerChannel: data.length, timestamp });

describe('WavRecorder', () => {
  it('writes a valid header and places each track from its first frame, mixing overlaps', () => {
    const path = join(dir, 'mix.wav');
    const t0 = 1_000_000;
    const rec = new WavRecorder(path, 16000, 1, t0, 100); // a 100 ms window: most is flushed on the way
    const one = new Int16Array(160).fill(1000);
    const two = new Int16Array(160).fill(500);
    // track a: 30 frames (300 ms) from 0; track b: its first frame arrives at 110 ms, i.e. starts at 100 ms
    for (let i = 0; i < 30; i++) {
      rec.add('a', frame(one, t0 + 10 * (i + 1)));
      if (i >= 10 && i < 15) rec.add('b', frame(two, t0 + 110 + 10 * (i - 10)));
    }
    rec.add('c', frame(new Int16Array(480), t0, 48000)); // another format: dropped
    expect(rec.close()).toBe(300 * 16 * 2);
    const w = readWav(path);
    expect(w).toMatchObject({ rate: 16000, channels: 1, bits: 16 });
    expect(w.samples.length).toBe(4800);
    expect(w.samples[0]).toBe(1000);
    expect(w.samples[1600]).toBe(1500); // 100 ms: a + b
    expect(w.samples[2399]).toBe(1500);
    expect(w.samples[2400]).toBe(1000); // b ended at 150 ms
    expect(rec.dropped).toBe(1);
  });

  it('clips sums to 16 bits and drops frames older than what was written', () => {
    const path = join(dir, 'clip.wav');
    const t0 = 0;
    const rec = new WavRecorder(path, 16000, 1, t0, 100);
    const loud = new Int16Array(160).fill(30000);
    for (let i = 0; i < 20; i++) { rec.add('a', frame(loud, 10 * (i + 1))); rec.add('b', frame(loud, 10 * (i + 1))); }
    rec.add('late', frame(loud, 10)); // its place (0 ms) is already in the file
    rec.close();
    const w = readWav(path);
    expect(w.samples[0]).toBe(32767);
    expect(rec.dropped).toBe(1);
  });
});

const fixture = useFixtureSessions();

describe('convene join --record', () => {
  it('writes what it hears to a WAV file: the 440 Hz a bot sings', async () => {
    const sid = await fixture.fx.newSession();
    const path = join(dir, 'join.wav');
    const child = spawn(process.execPath, [join(__dirname, '..', 'dist', 'cli.js'), 'join', '--server-url', fixture.fx.url, '--api-key', API_KEY,
      '--session', sid, '--token', fixture.fx.token(sid, { data: 'rec' }), '--record', path], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const recording = new Promise<void>((resolve) => child.stdout.on('data', (d) => { out += String(d); if (out.includes('"event":"recording"')) resolve(); }));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    const bot = fixture.session(sid);
    await bot.connect(fixture.fx.token(sid, { data: 'bot' }));
    const source = new AudioSource({ sampleRate: 48000, channels: 1, queueMs: 200 });
    await bot.publish({ name: 'singer', audioSource: source, publishVideo: false });
    await recording;
    await pushTone(source, 440, 1500);
    await new Promise((r) => setTimeout(r, 500)); // the queue plays out
    child.stdin.end();
    expect(await exited).toBe(0);
    expect(out).toMatch(/"event":"recorded"/);
    const w = readWav(path);
    expect(w).toMatchObject({ rate: 48000, channels: 1, bits: 16 });
    const loud: number[] = [];
    for (let i = 0; i + 480 <= w.samples.length; i += 480) {
      const block = w.samples.subarray(i, i + 480);
      if (block.some((v) => Math.abs(v) > 3000)) loud.push(i);
    }
    expect(loud.length * 10).toBeGreaterThanOrEqual(1400); // ms of sound
    const first = loud[0] ?? 0;
    const pcm = w.samples.subarray(first, first + 48000);
    expect(goertzel(pcm, 48000, 440)).toBeGreaterThan(100 * goertzel(pcm, 48000, 1000));
    // sanity of the helper: a synthetic 1 kHz tone is told apart
    const k = tone(1000, 48000, 48000);
    expect(goertzel(k, 48000, 1000)).toBeGreaterThan(100 * goertzel(k, 48000, 440));
  }, 30_000);
});
